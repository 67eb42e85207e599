"""A client CA removed from the webhook's CA file is no longer trusted after the reload (issue 33): real TLS
handshakes on 127.0.0.1 against the webhook's own contexts (webhook.tls.Contexts over webhook.server.ssl_context)."""

import socket
import ssl
import threading
from dataclasses import replace
from pathlib import Path

from credcheck.controller.settings import Settings
from credcheck.controller.webhook.server import ssl_context
from credcheck.controller.webhook.tls import Contexts
from credcheck_testground import certs
from credcheck_testground.webhook import serving_certs


def handshake(server: ssl.SSLContext, client_cert: tuple[Path, Path], ca_pem: bytes) -> bool:
    """Whether a client presenting `client_cert` completes a handshake (and an exchange) with `server`."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    result: list[bool] = []

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"ok")
                result.append(True)
        except (ssl.SSLError, OSError):
            result.append(False)

    thread = threading.Thread(target=serve)
    thread.start()
    client = ssl.create_default_context(cadata=ca_pem.decode())
    client.check_hostname = False
    client.load_cert_chain(*client_cert)
    try:
        with socket.create_connection(("127.0.0.1", port)) as raw, client.wrap_socket(raw) as tls:
            tls.recv(2)
    except (ssl.SSLError, OSError):
        pass
    thread.join(10)
    listener.close()
    return bool(result and result[0])


def test_a_removed_client_ca_is_no_longer_trusted_after_the_reload(tmp_path: Path) -> None:
    serving_ca = serving_certs(tmp_path / "certs")
    old_ca, new_ca = certs.make_ca("old-apiserver-ca"), certs.make_ca("new-apiserver-ca")
    old_client = certs.write(certs.issue(old_ca, "kube-apiserver"), tmp_path, "old-client")
    new_client = certs.write(certs.issue(new_ca, "kube-apiserver"), tmp_path, "new-client")
    ca_file = tmp_path / "client-ca.crt"
    ca_file.write_bytes(old_ca.cert_pem)
    settings = replace(Settings(), webhook_cert_dir=str(tmp_path / "certs"), webhook_client_ca=str(ca_file))
    contexts = Contexts(lambda: ssl_context(settings))
    assert handshake(contexts.server, old_client, serving_ca)
    assert not handshake(contexts.server, new_client, serving_ca)

    ca_file.write_bytes(new_ca.cert_pem)  # the old CA rotated out
    contexts.reload()
    assert handshake(contexts.server, new_client, serving_ca), "the new CA is trusted"
    assert not handshake(contexts.server, old_client, serving_ca), "the removed CA is not trusted any more"
