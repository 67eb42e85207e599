"""The webhook's TLS settings, replaced whole on a certificate change (issue 33): `SSLContext.load_verify_locations`
only adds to a context's trust store, so a client CA removed from the file stayed trusted until a restart. Every
handshake starts on `server`, whose callback (OpenSSL's servername callback: called with or without SNI) moves the
connection onto `current`, a context built afresh from the files on each reload."""

import ssl
from collections.abc import Callable
from typing import Any


class Contexts:
    def __init__(self, build: Callable[[], ssl.SSLContext]) -> None:
        self._build = build
        self.current = build()
        self.server = build()  # what the listening socket holds; never changed, every connection moves off it
        self.server.sni_callback = self._pick

    def _pick(self, connection: Any, _name: str | None, _context: ssl.SSLContext) -> None:
        connection.context = self.current

    def reload(self) -> None:
        """New certificate, key and client CAs: exactly what the files say now (raises while they are half-written;
        the context in use stays)."""
        self.current = self._build()
