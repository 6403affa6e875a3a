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
The RBAC rules the operator declares beside its API calls (kosmos.operator.client:
namespaced_rules() and cluster_rules()). tests/unit/deploy checks that these equal them.
*/}}
{{- define "kosmos.namespacedRules" -}}
- apiGroups: [""]
  resources: [configmaps]
  verbs: [create, delete, get, list]
- apiGroups: [""]
  resources: [events]
  verbs: [create, list, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
- apiGroups: [""]
  resources: [resourcequotas]
  verbs: [create, get]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [create, delete, get, list, watch]
- apiGroups: [kosmos.dev]
  resources: [experiments]
  verbs: [create, delete, get, list, patch, watch]
- apiGroups: [kosmos.dev]
  resources: [experiments/status]
  verbs: [get, patch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [create, delete, get, list]
{{- end }}

{{- define "kosmos.clusterRules" -}}
- apiGroups: [scheduling.k8s.io]
  resources: [priorityclasses]
  verbs: [create, get]
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
