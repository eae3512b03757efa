"""Local certificate authority for the harness: one trustme CA plus its PEM file on disk."""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import trustme


@dataclass
class LocalCA:
    """A trustme CA whose certificate is also written to ``ca_file``.

    Clients under test are pointed at ``ca_file`` (CAINFO / SSL_CERT_FILE);
    servers get leaf certificates from :meth:`server_context`.
    """

    ca: trustme.CA
    ca_file: str
    # Keeps an auto-created directory alive for as long as the CA is in use.
    _tmpdir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @classmethod
    def create(cls, directory: str | Path | None = None, name: str = "ccprompt test CA") -> LocalCA:
        """Make a fresh CA; its PEM goes to ``directory/ca.pem`` (a temp dir if omitted)."""
        tmpdir = None
        if directory is None:
            tmpdir = tempfile.TemporaryDirectory(prefix="ccprompt-ca-")
            directory = tmpdir.name
        path = Path(directory) / "ca.pem"
        ca = trustme.CA(organization_name=name)
        ca.cert_pem.write_to_path(str(path))
        return cls(ca=ca, ca_file=str(path), _tmpdir=tmpdir)

    def server_context(self, *hostnames: str) -> ssl.SSLContext:
        """Server-side SSLContext presenting a leaf certificate for ``hostnames``."""
        return server_context(self.ca, *hostnames)


def server_context(ca: trustme.CA, *hostnames: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*hostnames).configure_cert(context)
    return context


def as_trustme_ca(ca: LocalCA | trustme.CA) -> trustme.CA:
    """Accept either a LocalCA or a bare trustme.CA wherever a CA is expected."""
    return ca.ca if isinstance(ca, LocalCA) else ca
