#!/usr/bin/env bash
# Dead code: anything in the package that nothing references (tests, benchmarks and the test ground count as users;
# names only kopf, botocore or the profiles' data use are listed in hack/vulture_whitelist.py).
set -euo pipefail
cd "$(dirname "$0")/.."
found=$(.venv/bin/vulture operator/credcheck tests bench testground hack/vulture_whitelist.py --min-confidence 60 \
    | grep '^operator/' || true)
if [ -n "$found" ]; then
    echo "dead code (remove it, or list a name only a framework calls in hack/vulture_whitelist.py):" >&2
    echo "$found" >&2
    exit 1
fi
echo "vulture: no dead code in operator/credcheck"
