#!/usr/bin/env bash
# The main job: local control plane + AWS endpoint + sample KKP credentials + credcheck, then the verdicts.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE="${STATE:-.dev-env}"
bin_dir="$(bash hack/build-control-plane.sh)"
# KKP's seed monitoring for the alerts: Debian's prometheus and prometheus-alertmanager where they can be installed
# (as root, as hack/install-tools.sh does for `make test`), and Prometheus with Kubernetes service discovery for KKP's
# `pods` scrape job (built from its Go module and cached: minutes the first time)
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if (( ${#missing[@]} )); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "[demo] installing Debian packages: ${missing[*]}" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"; } >/dev/null || echo "[demo] could not install ${missing[*]}: no alerts" >&2
  else
    echo "[demo] missing Debian packages: ${missing[*]} (install them as root for the alerts)" >&2
  fi
fi
bash hack/build-prometheus.sh >/dev/null || echo "(no Prometheus with Kubernetes SD: KKP's scrape job is skipped)" >&2
exports="$(.venv/bin/python -m credcheck_testground demo --state "$STATE")"
eval "$exports"
echo
echo "\$ kubectl get awscredentialchecks -A"
"$bin_dir/kubectl" get awscredentialchecks -A
echo
echo "\$ kubectl get awscredentialchecks -A -o wide   # the KKP version, upgrade readiness and Clusters too"
"$bin_dir/kubectl" get awscredentialchecks -A -o wide
echo
echo "\$ credcheck explain kubermatic/credential-aws-docs9   # KKP's documented policy, measured against its code"
.venv/bin/credcheck explain kubermatic/credential-aws-docs9 || true
echo
echo "\$ kubectl apply -f malformed-secret.yaml   # a key id with a trailing newline: the admission webhook warns"
"$bin_dir/kubectl" apply -f - <<'YAML' 2>&1 | sed 's/^/  /'
apiVersion: v1
kind: Secret
metadata: {name: credential-aws-typo8, namespace: kubermatic}
stringData:
  accessKeyId: "AKIAIOSFODNN7EXAMPLE\n"
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
YAML
prom_url="$(cat "$STATE/prometheus-url" 2>/dev/null || true)"
alerts_page="$prom_url/classic/alerts"  # Debian's prometheus ships the classic web UI only (/alerts is 404)
if [[ -n "$prom_url" ]]; then
  echo
  echo "\$ open $alerts_page   # Prometheus on credcheck's /metrics with the chart's alert rules (for: shortened)"
  .venv/bin/python -m credcheck_testground.monitoring alerts --state "$STATE" || true
fi
if [[ -f "$STATE/alertmanager-url" ]]; then
  echo
  echo "\$ curl $(cat "$STATE/alertmanager-url")/api/v2/alerts   # at Alertmanager through KKP v2.31's pods job and route: what KKP's Slack line prints"
  .venv/bin/python -m credcheck_testground.monitoring delivered --state "$STATE" --wait 90 || true
fi
echo
echo "\$ kubectl get events -A --field-selector involvedObject.name=dev7   # the Cluster's Events, as KKP's dashboard lists them"
"$bin_dir/kubectl" get events -A --field-selector involvedObject.name=dev7 \
  -o custom-columns=TYPE:.type,REASON:.reason,OBJECT:.involvedObject.kind,NAME:.involvedObject.name,MESSAGE:.message
echo
echo "\$ python -m credcheck_testground.rotation_demo rotate   # a rotation, as each KKP Cluster sees it"
.venv/bin/python -m credcheck_testground.rotation_demo rotate --state "$STATE" || true
echo
echo "Everything keeps running. To look around:"
echo "$exports" | sed 's/^/  /'
if [[ -n "$prom_url" ]]; then
  echo "  open $alerts_page   # the chart's alert rules on credcheck's /metrics"
fi
echo "  kubectl describe awscc -n kubermatic credential-aws-dev7"
echo "Stop it all with: make dev-env-down"
