{{/* Names and labels. */}}
{{- define "invoker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "invoker.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Selector labels of one component. The chart's pods carry app.kubernetes.io/managed-by=Helm,
so the executor pods' selector (name=invoker, managed-by=invoker) never matches them.
*/}}
{{- define "invoker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "invoker.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "invoker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "invoker.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: invoker
{{- end -}}

{{- define "invoker.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "invoker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "invoker.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "invoker.managedNamespace" -}}
{{- default .Release.Namespace .Values.orchestrator.namespace -}}
{{- end -}}

{{- define "invoker.secretKeySecretName" -}}
{{- default (printf "%s-secret-key" (include "invoker.fullname" .)) .Values.secretKey.existingSecret -}}
{{- end -}}

{{- define "invoker.redisName" -}}
{{- printf "%s-redis" (include "invoker.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "invoker.stateRedisName" -}}
{{- printf "%s-state-redis" (include "invoker.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Where the app's files live in the container. */}}
{{- define "invoker.secretKeyDir" -}}/var/run/secrets/invoker{{- end -}}

{{/*
ALLOWED_HOSTS: the configured hosts, the ingress host, the Service's in-cluster names and the
pod's own IP ($(POD_IP), expanded by the kubelet), so that probes and Prometheus scrapes, which
send the pod IP as Host, are not rejected as DisallowedHost.
*/}}
{{- define "invoker.allowedHosts" -}}
{{- $fullname := include "invoker.fullname" . -}}
{{- $hosts := list -}}
{{- range .Values.allowedHosts }}{{ $hosts = append $hosts . }}{{ end -}}
{{- if .Values.ingress.enabled }}{{ $hosts = append $hosts .Values.ingress.host }}{{ end -}}
{{- $hosts = concat $hosts (list $fullname (printf "%s.%s.svc" $fullname .Release.Namespace) (printf "%s.%s.svc.cluster.local" $fullname .Release.Namespace) "$(POD_IP)") -}}
{{- $hosts | uniq | join "," -}}
{{- end -}}

{{- define "invoker.csrfTrustedOrigins" -}}
{{- $origins := list -}}
{{- range .Values.csrfTrustedOrigins }}{{ $origins = append $origins . }}{{ end -}}
{{- if .Values.ingress.enabled }}{{ $origins = append $origins (printf "https://%s" .Values.ingress.host) }}{{ end -}}
{{- $origins | uniq | join "," -}}
{{- end -}}

{{/* The environment every app container gets (settings.py reads only the environment). */}}
{{- define "invoker.env" -}}
- name: DEBUG
  value: "false"
- name: SECRET_KEY_FILE
  value: {{ include "invoker.secretKeyDir" . }}/{{ .Values.secretKey.key }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret is required (a Secret holding DATABASE_URL)" .Values.database.existingSecret }}
      key: {{ .Values.database.key }}
{{- if .Values.redis.bundled.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s.%s.svc:6379/0" (include "invoker.redisName" .) .Release.Namespace | quote }}
{{- else if .Values.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.key }}
{{- else }}
- name: REDIS_URL
  value: {{ required "redis.url is required (or redis.existingSecret, or redis.bundled.enabled)" .Values.redis.url | quote }}
{{- end }}
{{- /* The executors' state cache: stateUrl, else the bundled state Redis (the default); never
REDIS_URL unless stateUrl says so ("$(REDIS_URL)"), so executor state does not share the control
plane's Redis by accident. */}}
- name: INVOKER_STATE_REDIS_URL
{{- if .Values.redis.stateUrl }}
  value: {{ .Values.redis.stateUrl | quote }}
{{- else if .Values.redis.stateBundled.enabled }}
  value: {{ printf "redis://%s.%s.svc:6379/0" (include "invoker.stateRedisName" .) .Release.Namespace | quote }}
{{- else }}
{{- fail "redis.stateUrl is required when redis.stateBundled.enabled is false: the executors' state cache is kept apart from REDIS_URL (set redis.stateUrl to \"$(REDIS_URL)\" to share it on purpose)" }}
{{- end }}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers | quote }}
- name: INVOKER_BACKEND
  value: kubernetes
- name: INVOKER_KUBE_IN_CLUSTER
  value: "true"
- name: INVOKER_NAMESPACE
  value: {{ include "invoker.managedNamespace" . | quote }}
- name: INVOKER_RESYNC_SECONDS
  value: {{ .Values.orchestrator.resyncSeconds | quote }}
- name: INVOKER_METRICS_INTERVAL_SECONDS
  value: {{ .Values.orchestrator.metricsIntervalSeconds | quote }}
{{- with .Values.orchestrator.podNodeSelector }}
- name: INVOKER_POD_NODE_SELECTOR
  value: {{ toJson . | quote }}
{{- end }}
{{- with .Values.orchestrator.podTolerations }}
- name: INVOKER_POD_TOLERATIONS
  value: {{ toJson . | quote }}
{{- end }}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ALLOWED_HOSTS
  value: {{ include "invoker.allowedHosts" . | quote }}
- name: CSRF_TRUSTED_ORIGINS
  value: {{ include "invoker.csrfTrustedOrigins" . | quote }}
- name: SECURE_SSL_REDIRECT
  value: {{ .Values.secureSslRedirect | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes and mounts every app container gets: /tmp (the root filesystem is read-only) and the key. */}}
{{- define "invoker.volumes" -}}
- name: tmp
  emptyDir: {}
- name: secret-key
  secret:
    secretName: {{ include "invoker.secretKeySecretName" . }}
    items:
      - key: {{ .Values.secretKey.key }}
        path: {{ .Values.secretKey.key }}
{{- end -}}

{{- define "invoker.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: secret-key
  mountPath: {{ include "invoker.secretKeyDir" . }}
  readOnly: true
{{- end -}}

{{/* Pod-level settings shared by every pod of the chart. */}}
{{- define "invoker.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
