"""Signed identity: checking the store's HMAC of a customer id, and ``capture.customer.secret_env`` in the rules.

The server's side over HTTP (trusted, merged, counted): tests/proxy/test_signed_identity_tag.py; two
Chromium devices on the Shopify fixture: tests/shopify_store/test_shopify_tag_only.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.cli import main
from slotwise.rules import check_rules
from slotwise.rules.signed_identity import SignedIdentity, canonical_id, sign

SECRET = "s3cret-shared-with-slotwise"
OPENSSL = "5bff4c6d11954d9ba46871842ae449757aa4a7d96a44d341b0daba5af20f9b18"
"""``printf 7001 | openssl dgst -sha256 -hmac s3cret-shared-with-slotwise``: what Liquid's
``{{ customer.id | hmac_sha256: SECRET }}`` and PHP's ``hash_hmac('sha256', (string) $id, SECRET)`` print."""


def test_the_signature_is_the_one_liquid_and_php_print() -> None:
    assert sign(SECRET, 7001) == sign(SECRET, "7001") == OPENSSL


@pytest.mark.parametrize("customer, signature", [
    ("7001", OPENSSL),
    (7001, OPENSSL),                     # a number is its digits
    (7001.0, OPENSSL),                   # a JSON number that went through a float
    (" 7001\n", OPENSSL),                # the template's whitespace around the id
    ("7001", f"  {OPENSSL.upper()} "),   # hex in upper case, spaces around
], ids=["text", "int", "float", "spaces-id", "upper-spaces-signature"])
def test_a_valid_signature_verifies(customer: object, signature: str) -> None:
    assert SignedIdentity(("S",), (SECRET,)).verify(customer, signature)


@pytest.mark.parametrize("customer, signature", [
    ("7002", OPENSSL),                       # another customer's id
    ("7001", sign("a-guess", "7001")),       # another secret
    ("7001", OPENSSL[:-1]),                  # cut short
    ("7001", ""),
    ("7001", None),
    ("", sign(SECRET, "")),                  # no id: nothing to vouch for
    (None, OPENSSL),
    (True, sign(SECRET, "True")),
    ("7001", OPENSSL + "0" * 100),           # longer than any signature
    ("7001", 12345),
], ids=["other-id", "other-secret", "cut", "empty", "none", "no-id", "none-id", "bool-id", "too-long", "not-text"])
def test_anything_else_does_not(customer: object, signature: object) -> None:
    assert not SignedIdentity(("S",), (SECRET,)).verify(customer, signature)


def test_during_a_rotation_both_secrets_verify_and_no_other() -> None:
    rotating = SignedIdentity(("NEW", "OLD"), ("new-secret", SECRET))
    assert rotating.verify("7001", OPENSSL) and rotating.verify("7001", sign("new-secret", "7001"))
    assert not rotating.verify("7001", sign("older-secret", "7001"))


def test_the_secret_never_shows() -> None:
    identity = SignedIdentity(("SLOTWISE_IDENTITY_SECRET",), (SECRET,))
    assert SECRET not in repr(identity) and SECRET not in identity.describe()
    assert "$SLOTWISE_IDENTITY_SECRET" in identity.describe()


def test_canonical_id() -> None:
    assert [canonical_id(v) for v in (7001, 7001.0, " c-17 ", "", None, False)] == ["7001", "7001", "c-17", None, None, None]


RULES = """catalog:
  product_pages: "/p/{{product}}"
capture:
  customer:
{customer}
slots: []
"""


def rules_issues(tmp_path: Path, customer: str) -> list[str]:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(customer=customer), encoding="utf-8")
    ruleset, issues = check_rules(path)
    return [f"{i.line}:{i.column}: {i.message}" for i in issues]


SIGNED = """    id: "#me @data-id"
    signature: "#me @data-signature"
"""


def test_the_secret_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SW_ID_SECRET", SECRET)
    monkeypatch.setenv("SW_ID_SECRET_OLD", "old")
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(customer=SIGNED + "    secret_env: [SW_ID_SECRET, SW_ID_SECRET_OLD]"), encoding="utf-8")
    ruleset, issues = check_rules(path)
    assert issues == [] and ruleset is not None
    identity = ruleset.capture.identity
    assert identity is not None and identity.names == ("SW_ID_SECRET", "SW_ID_SECRET_OLD")
    assert identity.verify("7001", OPENSSL) and identity.verify("7001", sign("old", "7001"))
    assert ruleset.capture.customer is not None and "signature" in ruleset.capture.customer.group.fields


def test_an_unset_variable_is_an_error_naming_the_field_and_the_variable(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SW_ID_SECRET", raising=False)
    monkeypatch.setenv("SW_ID_SECRET_EMPTY", "")
    assert rules_issues(tmp_path, SIGNED + "    secret_env: [SW_ID_SECRET, SW_ID_SECRET_EMPTY]") == [
        f"7:{col}: 'capture.customer.secret_env': the environment variable {name} is not set: the secret the "
        "store's template signs customer ids with (capture.customer.signature) must be in it where Slotwise runs"
        for col, name in ((18, "SW_ID_SECRET"), (32, "SW_ID_SECRET_EMPTY"))]


@pytest.mark.parametrize("customer, message", [
    (SIGNED, "5:5: 'capture.customer.signature' needs 'secret_env': the environment variable that holds the secret "
             "the store signs customer ids with (SLOTWISE_IDENTITY_SECRET)"),
    ('    email: ".me"\n    signature: "#me @data-signature"\n    secret_env: HOME',
     "5:5: 'capture.customer.signature' signs the customer id: the group needs 'id'"),
    (SIGNED + '    secret_env: "s3cret value!"',
     "7:17: 'capture.customer.secret_env': 's3cret value!' is not an environment variable's name (the secret goes "
     "in the environment, never in the rules)"),
    (SIGNED + "    secret_env: [HOME, PATH, USER]",
     "7:17: 'capture.customer.secret_env' names 1 or 2 environment variables (the secret, and the old one during a "
     "rotation): SLOTWISE_IDENTITY_SECRET"),
], ids=["no-secret-env", "no-id", "a-secret-not-a-name", "three-names"])
def test_a_misconfigured_signature_is_refused(tmp_path: Path, customer: str, message: str) -> None:
    assert rules_issues(tmp_path, customer) == [message]


def test_rules_check_says_whether_signed_identity_is_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SW_ID_SECRET", SECRET)
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(customer=SIGNED + "    secret_env: SW_ID_SECRET"), encoding="utf-8")
    assert main(["rules", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  signed identity: on (secret from $SW_ID_SECRET, set)" in out and SECRET not in out
    monkeypatch.delenv("SW_ID_SECRET")
    assert main(["rules", "check", str(path)]) == 1
    assert "the environment variable SW_ID_SECRET is not set" in capsys.readouterr().err
