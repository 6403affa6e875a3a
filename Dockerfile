# syntax=docker/dockerfile:1
# The Kosmos operator image: `kosmos operator` (kopf) with its pinned dependencies.
# Build: docker build -t ghcr.io/kosmos-dev/kosmos-operator:0.1.0 .
# Probes live in the chart (kopf's /healthz), so the image has no HEALTHCHECK.

ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first (their own layer, rebuilt only when the pins change), then the package.
COPY deploy/requirements-operator.txt /src/requirements.txt
RUN pip install --prefix=/install --no-deps --only-binary=:all: -r requirements.txt
COPY pyproject.toml README.md /src/
COPY operator /src/operator
RUN pip install --prefix=/install --no-deps .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="kosmos-operator" \
      org.opencontainers.image.description="Kosmos operator: runs Experiment resources in sandboxed Jobs" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HOME=/tmp MPLCONFIGDIR=/tmp/matplotlib MPLBACKEND=Agg
COPY --from=build /install /usr/local
# Numeric uid/gid so that runAsNonRoot can be verified by the kubelet.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["kosmos"]
CMD ["operator"]
