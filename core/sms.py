"""SMS sending behind one small interface. Development writes to an outbox file, never to the log."""

import json
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class OutboxBackend:
    """Appends messages to var/outbox/sms.jsonl for developers and the demo (not a log: not redacted)."""

    def send(self, *, phone: str, text: str) -> str:
        outbox = Path(settings.VAR_DIR) / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        with (outbox / "sms.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": timezone.now().isoformat(), "to": phone, "text": text}, ensure_ascii=False) + "\n")
        return "outbox"


class MemoryBackend:
    """For tests: keeps sent messages in a list."""

    sent: list[dict] = []

    def send(self, *, phone: str, text: str) -> str:
        MemoryBackend.sent.append({"to": phone, "text": text})
        return "memory"


def send_sms(*, phone: str, text: str) -> str:
    return import_string(settings.GONGYU_SMS_BACKEND)().send(phone=phone, text=text)
