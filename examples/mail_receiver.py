"""An example e-mail service receiver for Slotwise's follow-up messages (docs/mail-payload.md).

A tiny real HTTP server (standard library only, plus jinja2 for the mail):
it checks the signature, drops a message it has already handled (the
``Idempotency-Key``), checks the payload's major version, and renders the
mail for the message's ``type`` from ``mail_templates/``. Where a real mail
service would send the mail, this one writes it to ``--out`` (one ``.html``
per message) and prints the subject.

    python examples/mail_receiver.py --port 8025 --secret "$SLOTWISE_SECRET" --out /tmp/mails
    slotwise serve --upstream ... --rules ... --secret "$SLOTWISE_SECRET" \\
        --webhook-url http://127.0.0.1:8025/slotwise --public-url https://shop.example

The secret is the proxy's key: ``--secret``, or the file ``DATA/secret`` it
generated (``--data``, default ``.slotwise``).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "mail_templates"
SUPPORTED = "slotwise.mail/1"
MAX_BODY = 1024 * 1024

SUBJECTS = {
    "signup": "Your coupon {coupon} is waiting",
    "purchase": "Thank you for your order {order_id}",
    "stage_change": "Picked for you",
}


def environment(templates: Path = TEMPLATES) -> Environment:
    """The mail templates: autoescaped, and strict: a field the message lacks is an error, not a blank."""
    return Environment(loader=FileSystemLoader(str(templates)), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined)


def verify(body: bytes, signature: str, secret: bytes) -> bool:
    """``X-Slotwise-Signature: sha256=<hex HMAC-SHA256 of the raw body>``, compared in constant time."""
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature or "")


def render(message: dict[str, Any], env: Environment | None = None) -> tuple[str, str]:
    """``(subject, html)`` of the mail for one message."""
    if message.get("schema") != SUPPORTED:
        raise ValueError(f"unsupported payload {message.get('schema')!r}; this receiver reads {SUPPORTED}")
    kind = message["type"]
    env = env or environment()
    subject = SUBJECTS[kind].format(coupon=message.get("coupon") or "",
                                    order_id=(message.get("order") or {}).get("order_id", ""))
    html = env.get_template(f"{kind}.html").render(m=message, subject=subject)
    return subject, html


class Receiver:
    """The handled messages (by idempotency key) and where the rendered mails go."""

    def __init__(self, secret: bytes, out: Path | None = None) -> None:
        self.secret = secret
        self.out = out
        self.env = environment()
        self.seen: set[str] = set()
        self.mails: list[tuple[str, str, dict[str, Any]]] = []  # (subject, html, message)
        self.lock = threading.Lock()

    def handle(self, body: bytes, headers: Any) -> tuple[int, str]:
        if not verify(body, headers.get("x-slotwise-signature", ""), self.secret):
            return 401, "bad signature"
        key = headers.get("idempotency-key", "")
        with self.lock:
            if key and key in self.seen:
                return 200, "already handled"
        try:
            message = json.loads(body)
            subject, html = render(message, self.env)
        except (ValueError, KeyError) as exc:
            return 422, str(exc)  # Slotwise retries: fix the receiver and the message still arrives
        with self.lock:
            self.seen.add(key)
            self.mails.append((subject, html, message))
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / f"{message['id']}.html").write_text(html, encoding="utf-8")
        print(f"{message['type']}: {subject}", flush=True)
        return 200, "ok"


def make_server(receiver: Receiver, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._answer(413, "too large")
                return
            status, text = receiver.handle(self.rfile.read(length), self.headers)
            self._answer(status, text)

        def _answer(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return ThreadingHTTPServer((host, port), Handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--secret", required=True, help="the Slotwise proxy's key (--secret or DATA/secret)")
    parser.add_argument("--out", type=Path, default=None, help="directory for the rendered mails")
    args = parser.parse_args(argv)
    server = make_server(Receiver(args.secret.encode(), args.out), args.host, args.port)
    print(f"receiving Slotwise mail messages on http://{args.host}:{server.server_address[1]}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
