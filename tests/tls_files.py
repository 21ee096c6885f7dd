"""A test certificate authority and a server certificate for some hosts, written as the PEM files
``slotwise serve --tls-cert/--tls-key`` (and nginx) read."""

from __future__ import annotations

from pathlib import Path

import trustme


def issue_cert_files(directory: Path, *hosts: str) -> tuple[Path, Path, trustme.CA]:
    """``cert.pem`` (the leaf, then its chain) and ``key.pem`` in ``directory`` for ``hosts``, and the CA
    a client trusts (``ca.configure_trust(context)``)."""
    ca = trustme.CA()
    cert = ca.issue_cert(*hosts)
    cert.private_key_pem.write_to_path(str(directory / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    for pem in cert.cert_chain_pems[1:]:
        with open(directory / "cert.pem", "ab") as f:
            f.write(pem.bytes())
    return directory / "cert.pem", directory / "key.pem", ca
