"""The CLI logs in with the kubeconfigs KKP admins have: exec credential plugins (v1, v1beta1), token files,
client certificates, insecure-skip-tls-verify, proxy-url (through a CONNECT proxy) — tested with real kubeconfigs against the local kube-apiserver,
reading an AWSCredentialCheck with `credcheck explain` (also as `kubectl credcheck explain`)."""

import contextlib
import json
import os
import socket
import socketserver
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from credcheck_testground.controlplane import ControlPlane

from .conftest import GOOD_POLICY, NS, Seed

EXPLAIN = [sys.executable, "-m", "credcheck.cli.main", "explain"]


def kubeconfig(tmp_path: Path, cp: ControlPlane, user: dict[str, Any], name: str = "kc",
               cluster: dict[str, Any] | None = None) -> Path:
    admin = yaml.safe_load(Path(cp.kubeconfig).read_text())
    server_cluster = dict(admin["clusters"][0]["cluster"])
    server_cluster.update(cluster or {})
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                                    "clusters": [{"name": "local", "cluster": server_cluster}],
                                    "users": [{"name": "u", "user": user}],
                                    "contexts": [{"name": "c", "context": {"cluster": "local", "user": "u"}}]}))
    return path


def plugin(tmp_path: Path, token: str) -> Path:
    """An exec credential plugin like `aws eks get-token`: prints an ExecCredential, checks what it was given."""
    script = tmp_path / "get-token"
    script.write_text(f"""#!{sys.executable}
import json, os, sys
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
assert sys.argv[1:] == ["--cluster", "kkp-seed"] and os.environ["PLUGIN_ENV"] == "yes", (sys.argv, os.environ)
print(json.dumps({{"apiVersion": info["apiVersion"], "kind": "ExecCredential",
                  "status": {{"token": {token!r}, "expirationTimestamp": "2099-01-01T00:00:00Z"}}}}))
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def explain(path: Path, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBERNETES_"))}
    env["KUBECONFIG"] = str(path)
    return subprocess.run([*EXPLAIN, f"{NS}/{name}", *extra], env=env, capture_output=True, text=True,
                          check=False, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def ready_check(seed: Seed) -> str:
    seed.kkp_secret("credential-aws-explained", seed.user(GOOD_POLICY))
    seed.wait_condition("credential-aws-explained", ("True", "AllRequiredAllowed"))
    return "credential-aws-explained"


@pytest.mark.parametrize("version", ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"])
def test_exec_plugin_kubeconfig(seed: Seed, ready_check: str, tmp_path: Path, version: str) -> None:
    token = seed.cp.run_kubectl("create", "token", "credcheck", "-n", NS).stdout.strip()
    user = {"exec": {"apiVersion": version, "command": str(plugin(tmp_path, token)),
                     "args": ["--cluster", "kkp-seed"], "env": [{"name": "PLUGIN_ENV", "value": "yes"}],
                     **({"interactiveMode": "Never"} if version.endswith("/v1") else {})}}
    done = explain(kubeconfig(tmp_path, seed.cp, user), ready_check)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{NS}/{ready_check}: OK (AllRequiredAllowed)")
    assert token not in done.stdout + done.stderr


def test_interactive_mode_always_without_a_terminal_is_explained(seed: Seed, ready_check: str, tmp_path: Path) -> None:
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "kubelogin",
                     "interactiveMode": "Always"}}
    done = explain(kubeconfig(tmp_path, seed.cp, user), ready_check)
    assert done.returncode != 0 and "needs an interactive terminal" in done.stderr


def test_token_file_client_certificate_and_insecure_kubeconfigs(seed: Seed, ready_check: str, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(seed.cp.run_kubectl("create", "token", "credcheck", "-n", NS).stdout.strip())
    by_file = explain(kubeconfig(tmp_path, seed.cp, {"tokenFile": str(token_file)}, "file"), ready_check)
    assert by_file.returncode == 0, by_file.stderr
    admin = yaml.safe_load(Path(seed.cp.kubeconfig).read_text())["users"][0]["user"]
    certs = {k: v for k, v in admin.items() if k.startswith("client-")}
    by_cert = explain(kubeconfig(tmp_path, seed.cp, certs, "cert"), ready_check, "--output", "json")
    assert by_cert.returncode == 0, by_cert.stderr
    assert json.loads(by_cert.stdout)["ready"]["status"] == "True"
    insecure = kubeconfig(tmp_path, seed.cp, certs, "insecure",
                          cluster={"certificate-authority-data": None, "insecure-skip-tls-verify": True})
    cfg = yaml.safe_load(insecure.read_text())
    cfg["clusters"][0]["cluster"].pop("certificate-authority-data")
    insecure.write_text(yaml.safe_dump(cfg))
    assert explain(insecure, ready_check).returncode == 0


def test_kubectl_plugin_name(seed: Seed, ready_check: str, tmp_path: Path) -> None:
    """`kubectl credcheck explain` finds the kubectl-credcheck entry point on PATH."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{Path(seed.cp.kubectl).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}", "KUBECONFIG": str(seed.cp.kubeconfig)}
    done = subprocess.run(["kubectl", "credcheck", "explain", f"{NS}/{ready_check}"], env=env, capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "OK (AllRequiredAllowed)" in done.stdout


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on 127.0.0.1 that counts the tunnels it opened."""

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[socketserver.BaseRequestHandler]:
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request = self.rfile.readline().decode()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                method, target, _ = request.split(" ", 2)
                if method != "CONNECT" or not target.startswith("127.0.0.1:"):
                    self.wfile.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
                    return
                host, port = target.split(":")
                upstream = socket.create_connection((host, int(port)))
                proxy.tunnels.append(target)
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                pipe(self.connection, upstream)

        return Handler


def pipe(a: socket.socket, b: socket.socket) -> None:
    def one_way(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=one_way, args=(b, a), daemon=True)
    other.start()
    one_way(a, b)
    other.join(timeout=5)


def test_proxy_url_kubeconfig(seed: Seed, ready_check: str, tmp_path: Path) -> None:
    proxy = ConnectProxy()
    try:
        token = seed.cp.run_kubectl("create", "token", "credcheck", "-n", NS).stdout.strip()
        done = explain(kubeconfig(tmp_path, seed.cp, {"token": token}, "proxied", cluster={"proxy-url": proxy.url}),
                       ready_check)
        assert done.returncode == 0, done.stderr
        assert proxy.tunnels and all(t.startswith("127.0.0.1:") for t in proxy.tunnels), "it went through the proxy"
    finally:
        proxy.server.shutdown()
