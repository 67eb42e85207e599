#!/usr/bin/env bash
# The main job: local control plane + AWS endpoint + sample KKP credentials + credcheck, then the verdicts.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE="${STATE:-.dev-env}"
bin_dir="$(bash hack/build-control-plane.sh)"
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
