{{/* Chart name, release-scoped full name and labels. */}}
{{- define "relutune.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "relutune.fullname" -}}
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

{{- define "relutune.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "relutune.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: pass (list $ "controller"). */}}
{{- define "relutune.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "relutune.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "relutune.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "relutune.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "relutune.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret with database-url and the credentials. */}}
{{- define "relutune.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "relutune.fullname" .) }}
{{- end }}

{{/* TLS material of Temporal or NATS: pass (list $ "temporal") or (list $ "nats").
     The Secret is the existing one, or the chart's <fullname>-<service>-tls. */}}
{{- define "relutune.tlsSecretName" -}}
{{- $ := index . 0 -}}{{- $svc := index . 1 -}}
{{- $tls := (index $.Values $svc).tls -}}
{{- $tls.existingSecret | default (printf "%s-%s-tls" (include "relutune.fullname" $) $svc) }}
{{- end }}

{{/* "ca", "cert" or "" for each TLS file the service uses, as a dict. */}}
{{- define "relutune.tlsFiles" -}}
{{- $ := index . 0 -}}{{- $svc := index . 1 -}}
{{- $tls := (index $.Values $svc).tls -}}
{{- if $tls.existingSecret -}}
ca: {{ $tls.useCA }}
cert: {{ $tls.useClientCert }}
{{- else -}}
ca: {{ not (empty $tls.ca) }}
cert: {{ and (not (empty $tls.cert)) (not (empty $tls.key)) }}
{{- end }}
{{- end }}

{{/* Whether the service has TLS files to mount. */}}
{{- define "relutune.tlsMounted" -}}
{{- $f := include "relutune.tlsFiles" . | fromYaml -}}
{{- if or $f.ca $f.cert }}true{{ end }}
{{- end }}

{{/* Environment shared by the controller and the workers. */}}
{{- define "relutune.env" -}}
- name: RELUTUNE_TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef: {name: {{ include "relutune.secretName" . }}, key: temporal-api-key, optional: true}
- name: RELUTUNE_NATS_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ include "relutune.secretName" . }}, key: nats-password, optional: true}
- name: RELUTUNE_NATS_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ include "relutune.secretName" . }}, key: nats-token, optional: true}
{{- end }}

{{/* Volumes and mounts of the TLS material and NATS credentials. */}}
{{- define "relutune.volumes" -}}
- name: tmp
  emptyDir: {}
{{- range $svc := list "temporal" "nats" }}
{{- if include "relutune.tlsMounted" (list $ $svc) }}
- name: {{ $svc }}-tls
  secret:
    secretName: {{ include "relutune.tlsSecretName" (list $ $svc) }}
    defaultMode: 0440
{{- end }}
{{- end }}
{{- if .Values.nats.credsSecret }}
- name: nats-creds
  secret:
    secretName: {{ .Values.nats.credsSecret }}
    defaultMode: 0440
    items:
      - {key: nats.creds, path: nats.creds}
{{- end }}
{{- end }}

{{- define "relutune.volumeMounts" -}}
- {name: tmp, mountPath: /tmp}
{{- range $svc := list "temporal" "nats" }}
{{- if include "relutune.tlsMounted" (list $ $svc) }}
- {name: {{ $svc }}-tls, mountPath: /etc/relutune/{{ $svc }}-tls, readOnly: true}
{{- end }}
{{- end }}
{{- if .Values.nats.credsSecret }}
- {name: nats-creds, mountPath: /etc/relutune/nats-creds, readOnly: true}
{{- end }}
{{- end }}

{{/* Probes on the health endpoint: /livez answers as soon as the process
     serves HTTP (migrations may take a while), /healthz once it is
     connected to Temporal, NATS (and Postgres) and serving. */}}
{{- define "relutune.probes" -}}
startupProbe:
  httpGet: {path: /livez, port: http}
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /livez, port: http}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 3
{{- end }}

{{- define "relutune.podAnnotations" -}}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- if .Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.metrics.port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}
