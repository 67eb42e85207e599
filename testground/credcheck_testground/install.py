"""What a seed needs before credcheck runs on the local control plane: CRDs (ours and KKP's reduced ones),
the namespace, and the chart's ServiceAccount and RBAC."""

import json
from pathlib import Path

from credcheck_testground import chart
from credcheck_testground.controlplane import ControlPlane

REPO = Path(__file__).resolve().parents[2]
CRDS = ("awscredentialchecks.credcheck.io", "clusters.kubermatic.k8c.io", "presets.kubermatic.k8c.io")


def install_base(cp: ControlPlane, namespace: str = "kubermatic") -> None:
    cp.run_kubectl("apply", "--server-side", "-f", str(REPO / "crds"), "-f", str(REPO / "hack" / "kkp-crds.yaml"))
    for crd in CRDS:
        cp.run_kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd}")
    cp.run_kubectl("create", "namespace", namespace, check=False)
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps({"apiVersion": "v1", "kind": "List",
                                                            "items": chart.rbac(namespace)}))
