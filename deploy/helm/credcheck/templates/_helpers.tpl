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

{{- /* The alert rules file (files/rules.yaml, the one source) with the runbook links made absolute from
runbookBaseURL, or left out when it is empty (no link rather than a dead one). */ -}}
{{- define "credcheck.rules" -}}
{{- $rules := .Files.Get "files/rules.yaml" -}}
{{- if .Values.runbookBaseURL -}}
{{- replace "RUNBOOK_BASE_URL" (trimSuffix "/" .Values.runbookBaseURL) $rules -}}
{{- else -}}
{{- regexReplaceAll "(?m)^[ \\t]*runbook_url: RUNBOOK_BASE_URL.*\\n" $rules "" -}}
{{- end -}}
{{- end -}}
