"""What a seed needs before credcheck runs on the local control plane: CRDs (ours, and KKP's kinds: KKP v2.31.0's own
where available, else those credcheck wrote from KKP's API types; see kkp.crd_dir), the
namespace with a Seed of two AWS datacenters, and the chart's ServiceAccount and RBAC."""

import json
from pathlib import Path

from credcheck_testground import chart, kkp
from credcheck_testground.controlplane import ControlPlane

REPO = Path(__file__).resolve().parents[2]
CRDS = ("awscredentialchecks.credcheck.io", *kkp.CRD_NAMES)


def install_base(cp: ControlPlane, namespace: str = "kubermatic") -> None:
    files = [arg for path in (REPO / "crds", *kkp.crd_paths()) for arg in ("-f", str(path))]
    cp.run_kubectl("apply", "--server-side", *files)
    for crd in CRDS:
        cp.run_kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd}")
    cp.run_kubectl("create", "namespace", namespace, check=False)
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps(kkp.seed(namespace=namespace)))
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps({"apiVersion": "v1", "kind": "List",
                                                            "items": chart.rbac(namespace)}))
