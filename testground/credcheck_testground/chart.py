"""The Helm chart rendered with a helm built from its Go module: the single source of RBAC, webhook and rules."""

import functools
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "credcheck"
MANIFESTS = REPO / "deploy" / "manifests"
RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")


@functools.cache
def helm() -> str:
    out = subprocess.run(["bash", str(REPO / "hack" / "build-helm.sh")], check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()[-1]


def render_text(*flags: str, namespace: str = "kubermatic") -> str:
    return subprocess.run([helm(), "template", "credcheck", str(CHART), "--namespace", namespace, *flags],
                          check=True, capture_output=True, text=True).stdout


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def rendered(*flags: str, namespace: str = "kubermatic") -> list[dict[str, Any]]:
    return documents(render_text(*flags, namespace=namespace))


def rbac(namespace: str = "kubermatic") -> list[dict[str, Any]]:
    """The chart's ServiceAccount and RBAC, exactly as installed."""
    return [d for d in rendered(namespace=namespace) if d["kind"] in RBAC_KINDS]


def webhook_configuration() -> dict[str, Any]:
    return next(d for d in rendered() if d["kind"] == "ValidatingWebhookConfiguration")


# The plain manifests (deploy/manifests) are these renders, kept equal by a test and by `make manifests`.
PLAIN = {
    "credcheck.yaml": ("--include-crds",),
    "monitoring.yaml": ("--set", "prometheusRule.enabled=true", "--set", "metrics.serviceMonitor.enabled=true",
                        "--set", "dashboard.enabled=true", "--show-only", "templates/monitoring.yaml"),
    # for KKP's seed monitoring (no prometheus-operator): the rules file and the dashboard as ConfigMaps in monitoring
    "kkp-monitoring.yaml": ("--set", "rulesConfigMap.enabled=true", "--set", "dashboard.enabled=true", "--set",
                            "dashboard.namespace=monitoring", "--show-only", "templates/monitoring.yaml"),
}


def write_plain_manifests() -> None:
    for name, flags in PLAIN.items():
        header = f"# Rendered from deploy/helm/credcheck by `make manifests` ({' '.join(flags) or 'defaults'}).\n"
        (MANIFESTS / name).write_text(header + render_text(*flags))
