"""Customers: password hashing, CSRF tokens, sign-up, log-in and log-out.

Passwords use scrypt with a per-password salt (stdlib only). The CSRF token
is an HMAC of the session id, so it is tied to the session without storing
anything, and changes when the session id is rotated at log-in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EmailTaken(Exception):
    """Sign-up with an email that already has an account."""


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    name: str


def hash_password(password: str) -> str:
    """'scrypt$salt$hash' (hex), verifiable with :func:`verify_password`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def csrf_token(secret: str, session_id: str) -> str:
    """The token a form must echo back for this session."""
    return hmac.new(secret.encode(), f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: str, session_id: str | None, token: object) -> bool:
    if not session_id or not isinstance(token, str) or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, session_id), token)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def valid_email(email: str) -> bool:
    return bool(EMAIL_RE.match(email)) and len(email) <= 254


# --- database work (run through Database.read / Database.write) ---------------


def _customer(row: sqlite3.Row | None) -> Customer | None:
    return Customer(row["id"], row["email"], row["name"]) if row else None


def customer_for_session(conn: sqlite3.Connection, session_id: str | None) -> Customer | None:
    if not session_id:
        return None
    row = conn.execute(
        "SELECT c.id, c.email, c.name FROM sessions s JOIN customers c ON c.id = s.customer_id WHERE s.id = ?",
        (session_id,),
    ).fetchone()
    return _customer(row)


def authenticate(conn: sqlite3.Connection, email: str, password: str) -> Customer | None:
    row = conn.execute(
        "SELECT id, email, name, password_hash FROM customers WHERE email = ?", (normalize_email(email),)
    ).fetchone()
    if row is None:
        hash_password(password)  # same work either way: do not reveal which emails exist
        return None
    return _customer(row) if verify_password(password, row["password_hash"]) else None


def create_customer(conn: sqlite3.Connection, name: str, email: str, password_hash: str) -> Customer:
    """Insert a customer (hash computed by the caller, outside the write lock)."""
    email = normalize_email(email)
    customer_id = "c" + secrets.token_hex(6)
    try:
        conn.execute(
            "INSERT INTO customers(id, email, name, password_hash) VALUES (?, ?, ?, ?)",
            (customer_id, email, name, password_hash),
        )
    except sqlite3.IntegrityError as exc:
        raise EmailTaken(email) from exc
    return Customer(customer_id, email, name)


def start_session(conn: sqlite3.Connection, old_session_id: str | None, new_session_id: str, customer_id: str) -> None:
    """Log a customer in on a fresh session id, carrying the cart over from the old one."""
    conn.execute("INSERT INTO sessions(id, customer_id) VALUES (?, ?)", (new_session_id, customer_id))
    if old_session_id:
        conn.execute("UPDATE cart_items SET session_id = ? WHERE session_id = ?", (new_session_id, old_session_id))
        conn.execute("DELETE FROM sessions WHERE id = ?", (old_session_id,))


def end_session(conn: sqlite3.Connection, session_id: str | None) -> None:
    """Log out: forget the session and its cart."""
    if session_id:
        conn.execute("DELETE FROM cart_items WHERE session_id = ?", (session_id,))
        conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
