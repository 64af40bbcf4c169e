"""Rich text in, safe HTML out (nh3); and the plain text of it for SMS, e-mail and read-aloud."""

import html
import re

import nh3

BLOCK_TAGS = re.compile(r"<\s*(p|br|ul|ol|li|table|h[1-6]|blockquote|div|hr)\b", re.IGNORECASE)

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "h3", "h4", "h5",
    "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


def clean_html(raw: str) -> str:
    """Sanitise what a sender typed. Text without tags becomes paragraphs, so a pasted message keeps its lines."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    if not BLOCK_TAGS.search(raw):
        # Typed or pasted text (perhaps with a <b> or a link): its line breaks are its layout.
        paragraphs = [p.strip() for p in raw.replace("\r\n", "\n").split("\n\n")]
        escape = html.escape if "<" not in raw else (lambda t: t)
        raw = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs if p)
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def to_text(safe_html: str, limit: int | None = None) -> str:
    """Plain text of sanitised HTML (tags dropped, entities decoded, whitespace folded)."""
    spaced = (safe_html or "").replace("<br>", "\n").replace("</p>", "\n").replace("</li>", "\n")
    text = html.unescape(nh3.clean(spaced, tags=set()))
    text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
