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
echo "Everything keeps running. To look around:"
echo "$exports" | sed 's/^/  /'
echo "  kubectl describe awscc -n kubermatic credential-aws-dev7"
echo "Stop it all with: make dev-env-down"
