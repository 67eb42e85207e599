"""The CLI's login from any kubeconfig a KKP admin has (the operator logs in as its ServiceAccount instead).

Reads $KUBECONFIG as kubectl does (a list of files merged: empty and missing entries skipped, the first file to set a
value or a named cluster, user or context wins, relative paths resolved against the file that names them; without
$KUBECONFIG, ~/.kube/config) and its current context: the cluster's server, CA (file or
data), `insecure-skip-tls-verify` and `proxy-url`; the user's token, `tokenFile`, client certificate and key (file
or data), or an exec credential plugin (client.authentication.k8s.io v1 and v1beta1: `aws eks get-token`,
aws-iam-authenticator, kubelogin), run with its args and env and with `interactiveMode` respected. Credentials
are never logged; a plugin's stderr goes to the terminal, its stdout is parsed and discarded.
"""

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import kopf
import yaml

EXEC_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXEC_TIMEOUT = 120.0


class KubeconfigError(Exception):
    """A kubeconfig credcheck cannot log in with; the message says what to fix."""


def _path(base: Path, value: str | None) -> str | None:
    return None if not value else str((base / value) if not Path(value).is_absolute() else Path(value))


def run_exec_plugin(spec: Mapping[str, Any], cluster: Mapping[str, Any], interactive_tty: bool) -> dict[str, Any]:
    """The ExecCredential status a plugin prints (token, or client certificate and key, and expiry)."""
    version = str(spec.get("apiVersion", ""))
    if version not in EXEC_VERSIONS:
        raise KubeconfigError(f"exec plugin apiVersion {version!r} is not supported: use one of "
                              f"{', '.join(EXEC_VERSIONS)}")
    mode = spec.get("interactiveMode") or ("IfAvailable" if version.endswith("v1beta1") else None)
    if mode not in ("Never", "IfAvailable", "Always"):
        raise KubeconfigError("exec plugin needs interactiveMode Never, IfAvailable or Always "
                              "(client.authentication.k8s.io/v1 requires it)")
    if mode == "Always" and not interactive_tty:
        raise KubeconfigError(f"the exec plugin {spec.get('command')!r} needs an interactive terminal "
                              "(interactiveMode: Always) and there is none")
    interactive = mode != "Never" and interactive_tty
    exec_info: dict[str, Any] = {"apiVersion": version, "kind": "ExecCredential",
                                 "spec": {"interactive": interactive}}
    if spec.get("provideClusterInfo"):
        exec_info["spec"]["cluster"] = {k: cluster.get(k) for k in ("server", "certificate-authority-data",
                                                                    "insecure-skip-tls-verify", "proxy-url")
                                        if cluster.get(k) is not None}
    env = dict(os.environ)
    env.update({str(e["name"]): str(e["value"]) for e in spec.get("env") or []})
    env["KUBERNETES_EXEC_INFO"] = json.dumps(exec_info)
    try:
        done = subprocess.run([str(spec["command"]), *[str(a) for a in spec.get("args") or []]], env=env,
                              stdin=None if interactive else subprocess.DEVNULL, stdout=subprocess.PIPE,
                              timeout=EXEC_TIMEOUT, check=False)
    except FileNotFoundError:
        hint = f" ({spec['installHint']})" if spec.get("installHint") else ""
        raise KubeconfigError(f"the exec plugin {spec.get('command')!r} is not installed{hint}") from None
    except subprocess.TimeoutExpired:
        raise KubeconfigError(f"the exec plugin {spec.get('command')!r} did not answer in {EXEC_TIMEOUT:.0f} s") \
            from None
    if done.returncode != 0:
        raise KubeconfigError(f"the exec plugin {spec.get('command')!r} failed (exit {done.returncode})")
    try:
        credential = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise KubeconfigError(f"the exec plugin {spec.get('command')!r} printed no ExecCredential JSON") from None
    if credential.get("kind") != "ExecCredential" or not isinstance(credential.get("status"), dict):
        raise KubeconfigError(f"the exec plugin {spec.get('command')!r} printed no ExecCredential status")
    return dict(credential["status"])


@dataclass(frozen=True)
class Merged:
    """A kubeconfig merged from its files: the first file's value wins, each named entry keeps its file's folder."""

    current_context: str | None
    entries: Mapping[tuple[str, str], tuple[dict[str, Any], Path]]  # (section, name) -> (entry, its file's folder)
    files: tuple[Path, ...]

    def named(self, section: str, name: str, what: str) -> tuple[dict[str, Any], Path]:
        found = self.entries.get((section, name))
        if found is None:
            raise KubeconfigError(f"the kubeconfig has no {what} named {name!r}")
        return found


def kubeconfig_paths(env: Mapping[str, str] | None = None, home: Path | None = None) -> list[Path]:
    """The files kubectl reads: $KUBECONFIG's list (empty entries skipped, each file once), else ~/.kube/config."""
    env = os.environ if env is None else env
    listed = [Path(p) for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if not listed:
        return [(home or Path.home()) / ".kube" / "config"]
    return list(dict.fromkeys(listed))


def merge_kubeconfigs(paths: list[Path]) -> Merged:
    """kubectl's merge (client-go clientcmd): files that don't exist are skipped, the first to set a key wins."""
    current: str | None = None
    entries: dict[tuple[str, str], tuple[dict[str, Any], Path]] = {}
    read: list[Path] = []
    for path in paths:
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            continue
        except OSError as err:
            raise KubeconfigError(f"cannot read the kubeconfig {path}: {type(err).__name__}") from None
        try:
            config = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise KubeconfigError(f"cannot read the kubeconfig {path}: {type(err).__name__}") from None
        if not isinstance(config, dict):
            raise KubeconfigError(f"the kubeconfig {path} is not a mapping")
        read.append(path)
        current = current or config.get("current-context") or None
        for section, what in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for item in config.get(section) or []:
                if isinstance(item, dict) and item.get("name") is not None:
                    entries.setdefault((what, str(item["name"])), (dict(item.get(what) or {}), path.parent))
    if not read:
        raise KubeconfigError(f"no kubeconfig found (looked for {', '.join(str(p) for p in paths)})")
    return Merged(current, entries, tuple(read))


def login_from_kubeconfig(path: Path | None = None, context: str | None = None,
                          interactive_tty: bool | None = None) -> kopf.ConnectionInfo:
    merged = merge_kubeconfigs([path] if path else kubeconfig_paths())
    where = ", ".join(str(p) for p in merged.files)
    name = context or merged.current_context
    if not name:
        raise KubeconfigError(f"{where} has no current-context: pass one, or run kubectl config use-context")
    ctx, _ = merged.named("context", name, "context")
    cluster, cluster_base = merged.named("cluster", str(ctx.get("cluster")), "cluster")
    user, base = merged.named("user", str(ctx.get("user")), "user") if ctx.get("user") else ({}, cluster_base)
    token, cert_data, key_data, expiration = user.get("token"), user.get("client-certificate-data"), \
        user.get("client-key-data"), None
    if user.get("tokenFile"):
        token = Path(_path(base, user["tokenFile"]) or "").read_text("utf-8").strip()
    if user.get("exec"):
        tty = sys.stdin.isatty() if interactive_tty is None else interactive_tty
        status = run_exec_plugin(user["exec"], cluster, tty)
        token = status.get("token") or token
        cert_data = status.get("clientCertificateData") or cert_data  # PEM; kopf takes PEM or base64
        key_data = status.get("clientKeyData") or key_data
        if status.get("expirationTimestamp"):
            expiration = datetime.fromisoformat(str(status["expirationTimestamp"]).replace("Z", "+00:00"))
    if user.get("auth-provider"):
        raise KubeconfigError("auth-provider logins are deprecated in Kubernetes and not supported: use an exec "
                              "plugin (e.g. kubelogin) instead")
    if not cluster.get("server"):
        raise KubeconfigError(f"the cluster of context {name!r} has no server")
    return kopf.ConnectionInfo(
        server=str(cluster["server"]), ca_path=_path(cluster_base, cluster.get("certificate-authority")),
        ca_data=cluster.get("certificate-authority-data"),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        username=user.get("username"), password=user.get("password"),
        scheme="Bearer" if token else None, token=token,
        certificate_path=_path(base, user.get("client-certificate")), certificate_data=cert_data,
        private_key_path=_path(base, user.get("client-key")), private_key_data=key_data,
        proxy_url=cluster.get("proxy-url"), default_namespace=ctx.get("namespace"), expiration=expiration)


def cli_login() -> kopf.ConnectionInfo:
    """Inside a pod, its ServiceAccount; elsewhere the kubeconfig."""
    info = kopf.login_with_service_account(settings=kopf.OperatorSettings())
    return info or login_from_kubeconfig()
