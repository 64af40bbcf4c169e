"""Chinese by default, English when the user chose it (language cookie, set by the user menu)."""

import ast
import gettext
from pathlib import Path

from django.conf import settings
from django.urls import reverse

LOCALE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"


def _po_msgids(path: Path) -> list[str]:
    """Catalogue keys of a .po file: msgid, or msgctxt + EOT + msgid (header and obsolete entries left out)."""
    ids: list[str] = []
    field, ctxt, msgid = None, "", ""
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if line.startswith("#"):
            continue
        if line.startswith('"') and field:
            value = ast.literal_eval(line)
            if field == "msgctxt":
                ctxt += value
            elif field == "msgid":
                msgid += value
            continue
        if field == "msgid" and msgid:
            ids.append(f"{ctxt}\x04{msgid}" if ctxt else msgid)
        if line.startswith("msgctxt "):
            field, ctxt = "msgctxt", ast.literal_eval(line[8:])
        elif line.startswith("msgid "):
            field, msgid = "msgid", ast.literal_eval(line[6:])
        else:  # msgid_plural, msgstr…, or the blank line between entries
            field = None
            if line.startswith("msgstr"):
                ctxt = ""
    return ids


def test_every_message_has_an_english_translation_in_the_compiled_catalogue():
    po, mo = LOCALE / "django.po", LOCALE / "django.mo"
    assert po.exists() and mo.exists(), "run makemessages -l en and compilemessages -l en"
    with mo.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    translated = {k[0] if isinstance(k, tuple) else k for k, v in catalog.items() if v}
    ids = _po_msgids(po)
    assert len(ids) > 100
    missing = [m for m in ids if m not in translated]
    assert not missing, f"{len(missing)} messages without English (or .mo not recompiled), e.g. {missing[:5]}"
    assert "#, fuzzy\nmsgid" not in po.read_text(encoding="utf-8")


def test_login_page_is_chinese_by_default_and_english_on_request(client, world):
    body = client.get(reverse("accounts:login")).content.decode()
    assert "登录" in body and 'lang="zh-hans"' in body
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(reverse("accounts:login")).content.decode()
    assert 'lang="en"' in body and "Log in" in body and "Phone number" in body
    assert "手机号" not in body


def test_family_page_in_english(client, world):
    client.force_login(world.parent_two_schools)
    body = client.get(reverse("people:family")).content.decode()
    assert "我的孩子" in body and "班主任" in body
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(reverse("people:family")).content.decode()
    assert "My children" in body and "Class teacher" in body and "Care mode" in body
    assert "我的孩子" not in body and "班主任" not in body
    # Data stays as entered: school names are not translated.
    assert "东城实验小学" in body


def test_language_switch_from_the_user_menu_is_remembered(client, world):
    client.force_login(world.teacher_a1)
    r = client.post(reverse("accounts:language") + "?next=" + reverse("people:my_classes"), {"language": "en"})
    assert r.status_code == 302
    world.teacher_a1.refresh_from_db()
    assert world.teacher_a1.language == "en"
    body = client.get(reverse("people:my_classes")).content.decode()
    assert "My classes" in body


def test_browser_language_does_not_switch_to_english(client, db):
    """Chinese is the default whatever the phone's language; English only when chosen."""
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "zh-hans"
    assert "登录" in response.content.decode()
