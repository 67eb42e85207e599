"""A real kube-apiserver + etcd on 127.0.0.1, with an admin kubeconfig and ServiceAccount kubeconfigs.

The apiserver authenticates itself to admission webhooks with a client certificate (CN WEBHOOK_CLIENT_NAME, from
a CA of its own: pki/webhook-client-ca.crt), given by an AdmissionConfiguration whose kubeconfig names the user
`*` (every webhook), as a platform admin would configure it (--admission-control-config-file).

There is no kube-controller-manager: no garbage collection through ownerReferences, namespaces stay
Terminating once deleted, no `default` ServiceAccount or `kube-root-ca.crt` ConfigMap is created.
"""

import base64
import contextlib
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from credcheck_testground import certs
from credcheck_testground.processes import free_port, spawn, wait_until

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "hack" / "build-control-plane.sh"
WEBHOOK_CLIENT_NAME = "kube-apiserver-webhook-client"


def binaries() -> Path:
    """The folder holding kube-apiserver, kubectl and etcd, built (once per version) if needed."""
    if os.environ.get("CREDCHECK_BIN_DIR"):
        return Path(os.environ["CREDCHECK_BIN_DIR"])
    out = subprocess.run(["bash", str(BUILD_SCRIPT)], check=True, stdout=subprocess.PIPE, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class ControlPlane:
    state: Path
    url: str
    kubeconfig: Path
    kubectl: Path
    ca_pem: bytes

    @property
    def webhook_client_ca(self) -> Path:
        """The CA of the client certificate this apiserver presents to webhooks (its key is beside it)."""
        return self.state / "pki" / "webhook-client-ca.crt"

    def kubectl_argv(self, *args: str, kubeconfig: Path | None = None) -> list[str]:
        return [str(self.kubectl), f"--kubeconfig={kubeconfig or self.kubeconfig}", *args]

    def run_kubectl(self, *args: str, kubeconfig: Path | None = None, input_text: str | None = None,
                    check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.kubectl_argv(*args, kubeconfig=kubeconfig), input=input_text, text=True,
                              capture_output=True, check=check, timeout=60)

    def service_account_kubeconfig(self, namespace: str, name: str, duration: str = "24h") -> Path:
        """A kubeconfig that authenticates as system:serviceaccount:NAMESPACE:NAME (TokenRequest API)."""
        self.run_kubectl("create", "serviceaccount", name, "-n", namespace, check=False)
        token = self.run_kubectl("create", "token", name, "-n", namespace, f"--duration={duration}").stdout.strip()
        path = self.state / f"kubeconfig-{namespace}-{name}"
        write_kubeconfig(path, self.url, self.ca_pem, user={"token": token}, name=f"{namespace}-{name}")
        return path


def write_kubeconfig(path: Path, url: str, ca_pem: bytes, user: dict[str, str], name: str) -> None:
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": "credcheck-local", "cluster": {
            "server": url, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": "credcheck-local", "user": name}}],
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)


def _admission_configuration(pki: Path) -> Path:
    """The apiserver's identity towards webhooks: a client certificate for every webhook (`*`). Every path is absolute:
    the apiserver refuses a relative kubeConfigFile (make demo keeps its state in the relative .dev-env)."""
    pki = pki.resolve()
    ca = certs.make_ca("credcheck-webhook-client-ca")
    certs.write(ca, pki, "webhook-client-ca")
    client_crt, client_key = certs.write(certs.issue(ca, WEBHOOK_CLIENT_NAME), pki, "webhook-client")
    kubeconfig = pki / "admission-kubeconfig.yaml"
    kubeconfig.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "users": [
        {"name": "*", "user": {"client-certificate": str(client_crt), "client-key": str(client_key)}}]}))
    webhook = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "WebhookAdmissionConfiguration",
               "kubeConfigFile": str(kubeconfig)}
    config = pki / "admission-configuration.yaml"
    config.write_text(yaml.safe_dump({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
                                      "plugins": [{"name": "ValidatingAdmissionWebhook", "configuration": webhook},
                                                  {"name": "MutatingAdmissionWebhook", "configuration": webhook}]}))
    return config


def _ready(url: str, context: ssl.SSLContext) -> bool:
    with urllib.request.urlopen(f"{url}/readyz", context=context, timeout=3) as resp:  # noqa: S310
        return bool(resp.status == 200)


def restart_apiserver(state: Path, down_seconds: float = 0, timeout: float = 120) -> None:
    """Stop kube-apiserver (SIGTERM), optionally stay down a while, start it again with the same flags."""
    pid = int((state / "kube-apiserver.pid").read_text())
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    time.sleep(down_seconds)
    argv = json.loads((state / "kube-apiserver.argv").read_text())
    proc = spawn("kube-apiserver", argv, state)
    pki = state / "pki"
    context = ssl.create_default_context(cadata=(pki / "ca.crt").read_text())
    context.load_cert_chain(pki / "admin.crt", pki / "admin.key")
    url = next(a.split("=", 1)[1] for a in argv if a.startswith("--service-account-issuer="))
    wait_until(lambda: _ready(url, context), "kube-apiserver (restarted)", timeout, proc, state / "kube-apiserver.log")


def start(state: Path, timeout: float = 120) -> ControlPlane:
    bins = binaries()
    state.mkdir(parents=True, exist_ok=True)
    pki = state / "pki"
    pki.mkdir(exist_ok=True)
    ca = certs.make_ca()
    ca_crt, _ = certs.write(ca, pki, "ca")
    serving_crt, serving_key = certs.write(
        certs.issue(ca, "kube-apiserver", server=True, hosts=("127.0.0.1", "localhost")), pki, "apiserver")
    admin = certs.issue(ca, "credcheck-admin", organization="system:masters")
    admin_crt, admin_key = certs.write(admin, pki, "admin")
    sa_pub, sa_key = certs.write(certs.service_account_keys(), pki, "service-account")

    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    etcd = spawn("etcd", [
        str(bins / "etcd"), "--name=default", f"--data-dir={state / 'etcd'}",
        f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
        f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
        f"--initial-cluster=default=http://127.0.0.1:{peer_port}", "--unsafe-no-fsync", "--log-level=warn",
    ], state)
    wait_until(lambda: urllib.request.urlopen(f"{etcd_url}/health", timeout=2).status == 200,  # noqa: S310
               "etcd", timeout, etcd, state / "etcd.log")

    url = f"https://127.0.0.1:{api_port}"
    apiserver_argv = [
        str(bins / "kube-apiserver"), f"--etcd-servers={etcd_url}", "--etcd-prefix=/credcheck",
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={api_port}",
        f"--cert-dir={pki}", f"--tls-cert-file={serving_crt}", f"--tls-private-key-file={serving_key}",
        f"--client-ca-file={ca_crt}", f"--service-account-issuer={url}",
        f"--service-account-key-file={sa_pub}", f"--service-account-signing-key-file={sa_key}",
        f"--api-audiences={url}", "--service-cluster-ip-range=10.0.0.0/24",
        "--authorization-mode=Node,RBAC", "--allow-privileged=true", "--enable-priority-and-fairness=false",
        "--disable-admission-plugins=ServiceAccount", "--v=1",
        f"--admission-control-config-file={_admission_configuration(pki)}",
    ]
    (state / "kube-apiserver.argv").write_text(json.dumps(apiserver_argv))
    apiserver = spawn("kube-apiserver", apiserver_argv, state)
    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    context.load_cert_chain(admin_crt, admin_key)

    wait_until(lambda: _ready(url, context), "kube-apiserver", timeout, apiserver, state / "kube-apiserver.log")
    kubeconfig = state / "kubeconfig"
    write_kubeconfig(kubeconfig, url, ca.cert_pem, name="admin", user={
        "client-certificate-data": base64.b64encode(admin.cert_pem).decode(),
        "client-key-data": base64.b64encode(admin.key_pem).decode()})
    return ControlPlane(state=state, url=url, kubeconfig=kubeconfig, kubectl=bins / "kubectl", ca_pem=ca.cert_pem)


def attach(state: Path) -> ControlPlane:
    """The control plane a running dev environment started (from its state folder)."""
    kubeconfig = state / "kubeconfig"
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    return ControlPlane(state=state, url=cluster["server"], kubeconfig=kubeconfig, kubectl=binaries() / "kubectl",
                        ca_pem=base64.b64decode(cluster["certificate-authority-data"]))
