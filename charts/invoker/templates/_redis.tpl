{{/*
A single-replica Redis without persistence and its Service: the bundled control-plane Redis
(redis.yaml, evaluation only) and the bundled state Redis (state-redis.yaml), which needs no
persistence because the executors' state lives in Kafka changelog topics and Redis caches it.
Arguments: root (the top context), name, component, resources.
*/}}
{{- define "invoker.bundledRedis" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "invoker.labels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  replicas: 1
  strategy:
    type: Recreate
  selector:
    matchLabels:
      {{- include "invoker.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "invoker.labels" (dict "root" .root "component" .component) | nindent 8 }}
    spec:
      automountServiceAccountToken: false
      {{- include "invoker.podCommon" .root | trim | nindent 6 }}
      containers:
        - name: redis
          image: {{ printf "%s:%s" .root.Values.redis.bundled.image.repository .root.Values.redis.bundled.image.tag }}
          imagePullPolicy: {{ .root.Values.redis.bundled.image.pullPolicy }}
          command: [redis-server, --save, "", --appendonly, "no", --dir, /data]
          ports:
            - name: redis
              containerPort: 6379
              protocol: TCP
          readinessProbe:
            exec:
              command: [redis-cli, ping]
            periodSeconds: 10
          livenessProbe:
            tcpSocket:
              port: redis
            periodSeconds: 20
          resources:
            {{- toYaml .resources | nindent 12 }}
          securityContext:
            {{- toYaml .root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: data
              mountPath: /data
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: data
          emptyDir: {}
        - name: tmp
          emptyDir: {}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "invoker.labels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  selector:
    {{- include "invoker.selectorLabels" (dict "root" .root "component" .component) | nindent 4 }}
  ports:
    - name: redis
      port: 6379
      targetPort: redis
      protocol: TCP
{{- end -}}
