"""The example mail receiver (examples/mail_receiver.py), the payload's JSON Schema, and a running receiver."""

from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import jsonschema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "docs" / "mail-payload.schema.json"


def load_receiver_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mail_receiver", ROOT / "examples" / "mail_receiver.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mail_receiver = load_receiver_module()
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()),
                                            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def validate(message: dict[str, Any]) -> None:
    """Raises ``jsonschema.ValidationError`` for a message that is not ``slotwise.mail/1``."""
    VALIDATOR.validate(message)


class RunningReceiver:
    """The example receiver serving on 127.0.0.1 in a thread."""

    def __init__(self, secret: bytes) -> None:
        self.receiver = mail_receiver.Receiver(secret)
        self.server = mail_receiver.make_server(self.receiver)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slotwise"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def mails(self) -> list[tuple[str, str, dict[str, Any]]]:
        return list(self.receiver.mails)

    def of_type(self, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [m for m in self.mails if m[2]["type"] == kind]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def running_receiver(secret: bytes) -> Iterator[RunningReceiver]:
    r = RunningReceiver(secret)
    try:
        yield r
    finally:
        r.close()
