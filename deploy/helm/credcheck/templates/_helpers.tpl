{{- define "credcheck.name" -}}credcheck{{- end -}}

{{- define "credcheck.labels" -}}
app.kubernetes.io/name: credcheck
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "credcheck.selectorLabels" -}}
app.kubernetes.io/name: credcheck
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "credcheck.watched" -}}
{{- $all := concat .Values.namespaces (list .Release.Namespace) | uniq -}}
{{- join "," $all -}}
{{- end -}}
