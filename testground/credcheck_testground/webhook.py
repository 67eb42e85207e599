"""The chart's webhook configuration made local: the Service becomes a URL on 127.0.0.1 with a CA made here."""

import base64
import copy
from pathlib import Path
from typing import Any

from credcheck_testground import certs, chart


def serving_certs(directory: Path) -> bytes:
    """tls.crt and tls.key for 127.0.0.1 in `directory`; returns the CA's PEM for the caBundle."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = certs.make_ca("credcheck-webhook-ca")
    pair = certs.issue(ca, "credcheck-webhook", server=True, hosts=("127.0.0.1", "localhost"))
    (directory / "tls.crt").write_bytes(pair.cert_pem)
    (directory / "tls.key").write_bytes(pair.key_pem)
    (directory / "tls.key").chmod(0o600)
    (directory / "ca.crt").write_bytes(ca.cert_pem)
    return ca.cert_pem


def client_certificate(directory: Path, common_name: str, signed_by: Path | None = None) -> tuple[Path, Path]:
    """A client certificate (crt, key) named `common_name`, signed by the CA whose .crt (and .key beside it) is
    `signed_by`, else by a CA made here: what a caller other than the apiserver could present."""
    directory.mkdir(parents=True, exist_ok=True)
    if signed_by is not None:
        ca = certs.KeyPair(signed_by.read_bytes(), signed_by.with_suffix(".key").read_bytes())
    else:
        ca = certs.make_ca("not-the-apiservers-ca")
    return certs.write(certs.issue(ca, common_name), directory, f"client-{common_name}")


def local_configuration(port: int, ca_pem: bytes) -> dict[str, Any]:
    """The chart's ValidatingWebhookConfiguration, pointed at 127.0.0.1:`port` with our CA."""
    config: dict[str, Any] = copy.deepcopy(chart.webhook_configuration())
    config["metadata"].pop("annotations", None)
    for hook in config["webhooks"]:
        path = hook["clientConfig"]["service"]["path"]
        hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}",
                                "caBundle": base64.b64encode(ca_pem).decode()}
    return config
