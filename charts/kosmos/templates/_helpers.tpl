{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "kosmos.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified release name; "kosmos" for a release named kosmos. */}}
{{- define "kosmos.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of the operator's objects (ServiceAccount, roles, Deployment). */}}
{{- define "kosmos.operatorName" -}}
{{- printf "%s-operator" (include "kosmos.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kosmos.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kosmos.name" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "kosmos.labels" -}}
app.kubernetes.io/name: {{ include "kosmos.name" . }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: kosmos
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A settings value as an environment variable string: lists as JSON, whole numbers without
a fraction. Helm reads every number in values as float64 and prints 1000000 as "1e+06",
which pydantic would refuse as an int.
*/}}
{{- define "kosmos.envValue" -}}
{{- if kindIs "slice" . }}{{ toJson . }}
{{- else if kindIs "float64" . }}{{ if eq . (float64 (int64 .)) }}{{ int64 . }}{{ else }}{{ toString . }}{{ end }}
{{- else }}{{ toString . }}
{{- end }}
{{- end }}
