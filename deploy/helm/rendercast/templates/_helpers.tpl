{{/* The release's full name: the release name, with the chart's name unless it holds it. */}}
{{- define "rendercast.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the release's pods. */}}
{{- define "rendercast.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "rendercast.labels" -}}
{{ include "rendercast.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret holding the tokens: the existing one, the chart's, or none. */}}
{{- define "rendercast.secretName" -}}
{{- if .Values.auth.existingSecret -}}
{{- .Values.auth.existingSecret -}}
{{- else if or .Values.auth.token .Values.auth.controlToken -}}
{{- include "rendercast.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* terminationGracePeriodSeconds: preStop, the drain wait and timeout, and 5 s to exit. */}}
{{- define "rendercast.gracePeriod" -}}
{{- add .Values.drain.preStopSeconds .Values.drain.waitSeconds .Values.drain.timeoutSeconds 5 -}}
{{- end -}}
