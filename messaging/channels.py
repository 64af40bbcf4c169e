"""Delivery channels behind one interface: in-app (the receipt itself), SMS, e-mail, WeChat template message.

A backend's send() gets one OutMessage and answers a SendResult; it never raises for a refused
address and never logs the address. Development backends append to var/outbox/<channel>.jsonl (not
a log: it holds the addresses, like a real gateway would); tests use the Memory backends; real
gateways are chosen by GONGYU_NOTICE_<CHANNEL>_BACKEND and configured by their own settings.

Every message carries the delivery row's idempotency key (the SMS OutId). A gateway drops a key it has
already accepted, and lookup(key) answers whether it has: the sender asks before handing over again a
row that a dead worker may have handed over already, so nothing the gateway accepted goes out twice.
The fake gateways below behave the same way and count the keys they were handed more than once.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.module_loading import import_string

from messaging import conf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutMessage:
    channel: str
    to: str  # phone, e-mail address or WeChat openid
    subject: str
    text: str
    url: str
    idempotency_key: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_ref: str = ""
    error: str = ""  # short and address-free
    retry: bool = False  # a transient failure worth another attempt


class ChannelBackend:
    channel = ""

    def send(self, message: OutMessage) -> SendResult:  # pragma: no cover - interface
        raise NotImplementedError

    def lookup(self, idempotency_key: str) -> SendResult | None:
        """Has the gateway accepted this key? A SendResult(ok=True) if so, None when it cannot tell (then
        the row is handed over again under the same key, which a deduplicating gateway drops)."""
        return None


class InAppBackend(ChannelBackend):
    """The receipt in the inbox is the in-app delivery: nothing to push."""

    channel = "inapp"

    def send(self, message: OutMessage) -> SendResult:
        return SendResult(ok=True, provider_ref="inapp")


_outbox_lock = threading.Lock()
_outbox_keys: dict[str, set[str]] = {}  # per file: keys already written (a real gateway drops them)


class _OutboxBackend(ChannelBackend):
    def _path(self) -> Path:
        outbox = Path(settings.VAR_DIR) / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        return outbox / f"{self.channel}.jsonl"

    def _keys(self, path: Path) -> set[str]:
        keys = _outbox_keys.get(str(path))
        if keys is None:
            keys = set()
            if path.exists():
                with path.open(encoding="utf-8") as fh:
                    keys = {json.loads(line).get("key", "") for line in fh if line.strip()}
            _outbox_keys[str(path)] = keys
        return keys

    def lookup(self, idempotency_key: str) -> SendResult | None:
        with _outbox_lock:
            return SendResult(ok=True, provider_ref="outbox") if idempotency_key in self._keys(self._path()) else None

    def send(self, message: OutMessage) -> SendResult:
        path = self._path()
        line = json.dumps(
            {
                "at": timezone.now().isoformat(),
                "key": message.idempotency_key,
                "to": message.to,
                "subject": message.subject,
                "text": message.text,
                "url": message.url,
            },
            ensure_ascii=False,
        )
        with _outbox_lock:
            keys = self._keys(path)
            if message.idempotency_key in keys:
                return SendResult(ok=True, provider_ref="outbox")
            with path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
            keys.add(message.idempotency_key)
        return SendResult(ok=True, provider_ref="outbox")


class OutboxSmsBackend(_OutboxBackend):
    channel = "sms"


class OutboxEmailBackend(_OutboxBackend):
    channel = "email"


class OutboxWeChatBackend(_OutboxBackend):
    channel = "wechat"


class MemoryBackend(ChannelBackend):
    """For tests, a gateway that deduplicates like a real one: records each accepted key once (`sent`),
    counts hand-overs of a key it already accepted (`duplicates`, which tests expect to be 0); an address
    listed in `fail` is refused, in `flaky` fails once."""

    sent: list[OutMessage] = []
    accepted: dict[str, str] = {}
    duplicates: int = 0
    fail: set[str] = set()
    flaky: set[str] = set()

    def lookup(self, idempotency_key: str) -> SendResult | None:
        ref = MemoryBackend.accepted.get(idempotency_key)
        return SendResult(ok=True, provider_ref=ref) if ref else None

    def send(self, message: OutMessage) -> SendResult:
        if message.to in MemoryBackend.fail:
            return SendResult(ok=False, error="号码无效")
        if message.to in MemoryBackend.flaky:
            MemoryBackend.flaky.discard(message.to)
            return SendResult(ok=False, error="网关超时", retry=True)
        if message.idempotency_key in MemoryBackend.accepted:
            MemoryBackend.duplicates += 1
            return SendResult(ok=True, provider_ref=MemoryBackend.accepted[message.idempotency_key])
        MemoryBackend.sent.append(message)
        ref = f"mem-{len(MemoryBackend.sent)}"
        MemoryBackend.accepted[message.idempotency_key] = ref
        return SendResult(ok=True, provider_ref=ref)

    @classmethod
    def reset(cls):
        cls.sent = []
        cls.accepted = {}
        cls.duplicates = 0
        cls.fail = set()
        cls.flaky = set()


def _post_json(url: str, payload: dict, headers: dict | None = None, timeout: float = 10.0) -> dict:
    if not url.startswith(("https://", "http://")) or (getattr(settings, "PRODUCTION", False) and not url.startswith("https://")):
        raise ValueError("gateway URL must be https (http only outside production)")
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    # The scheme was checked just above: no file: or custom schemes reach urlopen.
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})}, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL from settings
        return json.loads(response.read().decode("utf-8") or "{}")


class HttpSmsBackend(ChannelBackend):
    """A provider's HTTP API (or an in-house SMS relay): POST JSON {to, text, out_id}.

    GONGYU_SMS_GATEWAY_URL and GONGYU_SMS_GATEWAY_KEY configure it; out_id lets the provider drop a
    message it has already accepted, so a re-claimed delivery is not sent twice.
    """

    channel = "sms"

    def lookup(self, idempotency_key: str) -> SendResult | None:
        """GONGYU_SMS_GATEWAY_STATUS_URL (optional): POST {out_id} → {found: true, id}. Without it, a row
        a dead worker handed over is sent again under the same out_id, which the provider drops."""
        url = conf.gateway_status_url("sms")
        if not url:
            return None
        try:
            answer = _post_json(url, {"out_id": idempotency_key}, {"Authorization": f"Bearer {conf.gateway_key('sms')}"})
        except (urllib.error.URLError, TimeoutError, OSError, ValueError):
            return None
        return SendResult(ok=True, provider_ref=str(answer.get("id", ""))[:64]) if answer.get("found") else None

    def send(self, message: OutMessage) -> SendResult:
        try:
            answer = _post_json(
                conf.gateway_url("sms"),
                {"to": message.to, "text": message.text, "out_id": message.idempotency_key},
                {"Authorization": f"Bearer {conf.gateway_key('sms')}"},
            )
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            log.warning("sms gateway unreachable: %s", type(exc).__name__)
            return SendResult(ok=False, error="短信网关无法连接", retry=True)
        except ValueError:
            return SendResult(ok=False, error="短信网关应答无效", retry=True)
        if answer.get("ok") or answer.get("code") in ("OK", 0, "0"):
            return SendResult(ok=True, provider_ref=str(answer.get("id", ""))[:64])
        return SendResult(ok=False, error=str(answer.get("message", "短信网关拒绝"))[:100], retry=bool(answer.get("retry")))


class WeChatTemplateBackend(ChannelBackend):
    """WeChat official-account template message (GONGYU_WECHAT_APPID/SECRET/TEMPLATE_ID)."""

    channel = "wechat"
    api = "https://api.weixin.qq.com/cgi-bin"

    def _token(self) -> str:
        token = cache.get("gongyu:wechat:token")
        if token:
            return token
        appid, secret = conf._get("GONGYU_WECHAT_APPID", ""), conf._get("GONGYU_WECHAT_SECRET", "")
        url = f"{self.api}/token?grant_type=client_credential&appid={appid}&secret={secret}"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - fixed https host
            answer = json.loads(response.read().decode("utf-8"))
        token = answer.get("access_token", "")
        if token:
            cache.set("gongyu:wechat:token", token, int(answer.get("expires_in", 7200)) - 300)
        return token

    def send(self, message: OutMessage) -> SendResult:
        try:
            token = self._token()
            if not token:
                return SendResult(ok=False, error="微信接口凭证获取失败", retry=True)
            answer = _post_json(
                f"{self.api}/message/template/send?access_token={token}",
                {"touser": message.to, "template_id": conf.wechat_template_id(), "url": message.url, "data": message.data},
            )
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            log.warning("wechat api unreachable: %s", type(exc).__name__)
            return SendResult(ok=False, error="微信接口无法连接", retry=True)
        if answer.get("errcode", 0) == 0:
            return SendResult(ok=True, provider_ref=str(answer.get("msgid", ""))[:64])
        # 43004: the user unfollowed; 40003: bad openid — retrying will not help.
        return SendResult(ok=False, error=f"微信拒绝（{answer.get('errcode')}）", retry=answer.get("errcode") in (-1, 45009))


class DjangoEmailBackend(ChannelBackend):
    """E-mail through Django's EMAIL_BACKEND (SMTP settings EMAIL_HOST … in production)."""

    channel = "email"

    def send(self, message: OutMessage) -> SendResult:
        email = EmailMessage(subject=message.subject, body=f"{message.text}\n\n{message.url}", to=[message.to])
        email.extra_headers["X-Gongyu-Key"] = message.idempotency_key
        try:
            email.send(fail_silently=False)
        except OSError as exc:
            log.warning("mail server refused: %s", type(exc).__name__)
            return SendResult(ok=False, error="邮件服务器无法连接", retry=True)
        return SendResult(ok=True, provider_ref="smtp")


def backend_for(channel: str) -> ChannelBackend:
    if channel == "inapp":
        return InAppBackend()
    return import_string(conf.backend_path(channel))()
