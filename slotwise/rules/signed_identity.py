"""Signed identity: the store's template vouches for the logged-in customer with an HMAC of their id.

In tag-only mode the tag reads who is logged in from the page, where anyone can
write anything: a claim, which never merges. A store that prints, for the
logged-in customer only, an HMAC-SHA256 of the customer id with a secret it
shares with Slotwise (Shopify Liquid ``{{ customer.id | hmac_sha256: SECRET }}``,
PHP ``hash_hmac('sha256', (string) $id, SECRET)``: lowercase hex) makes the id
trusted, as the proxy's reading of the store's own page is, so a customer's
devices merge ("identity verification", as Intercom and Zendesk call it).

The rules say where the signature is (``capture.customer.signature``, a field
like ``id``) and which environment variables hold the secret
(``capture.customer.secret_env``; two during a rotation): never the secret itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from slotwise.rules.checker import Checker
from slotwise.rules.yaml_marks import Node, ScalarNode, SequenceNode

MAX_SECRETS = 2  # the current one and, during a rotation, the one pages cached before it still carry
MAX_SIGNATURE = 128  # hex of SHA-256 is 64; room for a base64 or a prefix someone's template adds by mistake
OUTCOMES = ("verified", "forged", "missing", "off")
"""How a tag's customer id fared: a valid signature; a signature that matches no secret; no signature; a
signature sent where the rules name no secret. Only ``verified`` is trusted."""


def canonical_id(value: Any) -> str | None:
    """The customer id as the store's template prints it and signs it: a number's digits (``7001``, also
    ``7001.0``), a text without surrounding spaces; None when there is none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def sign(secret: str, customer_id: Any) -> str:
    """The signature a store's template prints for ``customer_id``: lowercase hex HMAC-SHA256."""
    return hmac.new(secret.encode(), (canonical_id(customer_id) or "").encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignedIdentity:
    """The secrets a customer id's signature is checked against (read from the environment at load)."""

    names: tuple[str, ...]  # the environment variables, as the rules name them
    secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def verify(self, customer_id: Any, signature: Any) -> bool:
        """Whether ``signature`` signs ``customer_id`` with one of the secrets: compared in constant time, each
        secret tried (so the time says nothing about which matched). Upper-case hex is the same signature."""
        text = canonical_id(customer_id)
        if not text or not isinstance(signature, str) or not signature.strip() or len(signature) > MAX_SIGNATURE:
            return False
        given = signature.strip().lower().encode()
        ok = False
        for secret in self.secrets:
            ok |= hmac.compare_digest(given, sign(secret, text).encode())
        return ok

    def describe(self) -> str:
        """What ``rules check`` says: where the secret comes from (never the secret)."""
        names = " or ".join(f"${n}" for n in self.names)
        return (f"signed identity: on (secret from {names}, set): a customer id the tag sends with the store's "
                "HMAC-SHA256 (hex) of it is trusted and merges the customer's devices; without one, or with a "
                "wrong one, it is a claim")


def parse_secret_env(check: Checker, node: Node, environ: Mapping[str, str] | None = None) -> SignedIdentity | None:
    """``secret_env: NAME`` or ``[NAME, OLD_NAME]``: each must be set (not empty) where the rules are loaded.

    An unset variable is an error of the rules, like a broken selector: ``rules check`` fails, and
    ``slotwise serve`` rejects the rules at start (serving the store unchanged, health ``rules_invalid``)
    rather than run with every signed login silently a claim. A command that never checks a signature
    (``check.secrets`` false: report, import, preview) needs none set: its identity verifies nothing."""
    environ = os.environ if environ is None else environ
    what = "'capture.customer.secret_env'"
    nodes = node.value if isinstance(node, SequenceNode) else [node]
    if not nodes or len(nodes) > MAX_SECRETS or not all(isinstance(n, ScalarNode) for n in nodes):
        check.error(node, f"{what} names 1 or {MAX_SECRETS} environment variables (the secret, and the old one "
                          "during a rotation): SLOTWISE_IDENTITY_SECRET")
        return None
    names: list[str] = []
    secrets: list[str] = []
    for item in nodes:
        text = check.text(item, what)
        if text is None:
            return None
        name = text.value.strip()
        if not name.replace("_", "").isalnum() or name[0].isdigit():
            check.error(item, f"{what}: {name!r} is not an environment variable's name (the secret goes in the "
                              "environment, never in the rules)")
            return None
        names.append(name)
        if environ.get(name):
            secrets.append(environ[name])
        elif check.secrets:
            check.error(item, f"{what}: the environment variable {name} is not set: the secret the store's "
                              "template signs customer ids with (capture.customer.signature) must be in it "
                              "where Slotwise runs")
    return SignedIdentity(tuple(names), tuple(secrets)) if len(secrets) == len(names) or not check.secrets else None
