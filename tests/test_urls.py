"""URL inventory (after Zulip's zerver/tests/test_urls.py): every URL pattern the project serves —
pages, includes, the ninja API and the admin — is either on the short PUBLIC list below or refuses an
anonymous request. A new URL that is neither fails the suite by name, so nobody adds a page that
forgets its log-in check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve, reverse

from accounts.models import User

# Anonymous access allowed, per URL name and the methods that may answer. Every other method on these
# URLs must still refuse. Kept short on purpose; each entry says why it must be reachable signed out.
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ANY = set(METHODS)
PUBLIC: dict[str, set[str]] = {
    # Signing in, and the guardian's activation (class invitation code + child check) that comes
    # before any account exists.
    "accounts:login": ANY,
    "accounts:activate": {"GET", "POST"},
    # Switching the interface language only sets a cookie (Django's set_language).
    "set_language": ANY,
    # Load-balancer probe: answers {"status": "ok"} and nothing else.
    "healthz": ANY,
    # The API's log-in: phone + password for a bearer token (same lockout as the web log-in).
    # DELETE on the same URL (revoking a token) must still refuse.
    "api-v1:token_create": {"POST"},
    # The OpenAPI document and its docs page describe operations and hold no data; every operation
    # except token creation still needs a token, and client developers need them before an account.
    "api-v1:openapi-json": ANY,
    "api-v1:openapi-view": ANY,
    # The admin's log-out: signed out there is no session to end, and it only redirects to the admin
    # index, which sends to the log-in page. (The admin's log-in itself redirects to ours.)
    "admin:logout": ANY,
}
# Static files are not URL patterns here: WhiteNoise serves them from middleware.

REFUSED = {401, 403, 404, 405}

_CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
_NAMED_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^)]*)\)")


@dataclass(frozen=True)
class Leaf:
    route: str  # the full route as written, e.g. "org/<int:pk>/edit/"
    name: str | None  # the namespaced URL name, e.g. "org:unit_edit"
    params: tuple[str, ...]  # names of the captured parameters

    @property
    def label(self) -> str:
        return f"{self.route!r} ({self.name or 'unnamed'})"


def iter_leaves(resolver=None, prefix: str = "", namespaces: tuple[str, ...] = ()):
    """Every URL pattern reachable from the root URLconf, through includes, the API and the admin."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = namespaces + ((pattern.namespace,) if pattern.namespace else ())
            yield from iter_leaves(pattern, route, ns)
        else:
            name = ":".join(namespaces + (pattern.name,)) if pattern.name else None
            groups = tuple(m["name"] for m in _NAMED_GROUP.finditer(route))
            params = groups + tuple(m["name"] for m in _CONVERTER.finditer(_NAMED_GROUP.sub("", route)))
            yield Leaf(route, name, params)


def build_url(leaf: Leaf, sample) -> str:
    """A concrete URL for a pattern: converters filled by sample(converter, name, leaf)."""

    def group(m):
        # A group of plain alternatives (the admin's app_list) takes its first; anything else a sample.
        body = m["body"]
        return body.split("|")[0] if re.fullmatch(r"[\w|]+", body) else str(sample("str", m["name"], leaf))

    # Regex groups first: their "(?P<name>" would otherwise look like a converter.
    route = _NAMED_GROUP.sub(group, leaf.route)
    route = _CONVERTER.sub(lambda m: str(sample(m["conv"] or "str", m["name"], leaf)), route)
    route = route.replace("^", "").replace("$", "")
    return "/" + route


def _sample_for(world):
    def sample(conv, name, leaf):
        if name in {"student_id"} or (leaf.name or "").startswith("people:student"):
            return world.child_a1.pk
        if name in {"pk", "unit_id", "id"} and not (leaf.name or "").startswith("admin:"):
            return world.class_a1.pk  # a class, so that class pages have a real object behind them
        if conv in {"int", "path"} or name in {"object_id", "content_type_id", "pk"}:
            return 1
        return "x"

    return sample


def _bare(route: str) -> str:
    return route.replace("^", "").replace("$", "")


def _is_login_redirect(response) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    target = urlsplit(response["Location"]).path
    return target in {reverse("accounts:login"), reverse("admin:login")}


def test_every_url_is_public_or_refuses_anonymous(world):
    client = Client()
    sample = _sample_for(world)
    problems = []
    seen_names = set()
    leaves = list(iter_leaves())
    assert len(leaves) > 30  # the walk reached the includes, the API and the admin
    for leaf in leaves:
        url = build_url(leaf, sample)
        match = resolve(urlsplit(url).path)
        # Routes shared by two names (ninja's POST/DELETE /auth/token) are one URL: classify what serves it.
        if _bare(match.route) != _bare(leaf.route):
            problems.append(
                f"{leaf.label}: {url!r} is served by {match.route!r} instead — an earlier pattern shadows it "
                "(e.g. an untyped <id> route declared before a fixed one), or build_url cannot build it"
            )
            continue
        served_as = match.view_name or leaf.name
        seen_names.add(served_as)
        public_methods = PUBLIC.get(served_as, set())
        for method in METHODS:
            response = getattr(client, method.lower())(url)
            if response.status_code >= 500:
                problems.append(f"{leaf.label}: anonymous {method} {url} → {response.status_code}")
            elif method in public_methods:
                continue
            elif response.status_code not in REFUSED and not _is_login_redirect(response):
                where = f" → {response['Location']}" if response.has_header("Location") else ""
                problems.append(
                    f"{leaf.label}: anonymous {method} {url} answered {response.status_code}{where}. "
                    "Require a log-in, or add it to PUBLIC in tests/test_urls.py with a reason."
                )
    stale = set(PUBLIC) - seen_names
    assert not stale, f"PUBLIC lists URL names that no longer exist: {sorted(stale)}"
    assert not problems, "Unclassified or unprotected URLs:\n" + "\n".join(problems)


def test_public_urls_answer_signed_out(world):
    """The allow-list is not a formality: these pages really work without an account."""
    client = Client()
    assert client.get(reverse("accounts:login")).status_code == 200
    assert client.get(reverse("accounts:activate")).status_code == 200
    assert client.get(reverse("healthz")).json() == {"status": "ok"}
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200


def test_signed_in_pages_are_not_reachable_signed_out(world):
    """Spot check that the inventory's "refuses" is a real refusal, not a page answering 200."""
    client = Client()
    response = client.get(reverse("org:unit_detail", args=[world.class_a1.pk]))
    assert _is_login_redirect(response)
    assert world.class_a1.name not in response.content.decode()
    response = client.get(f"/api/v1/people/students/{world.child_a1.pk}")
    assert response.status_code == 401
    assert world.child_a1.name not in response.content.decode()


@pytest.mark.parametrize("path", ["/ops/admin/", "/ops/admin/audit/auditevent/", "/ops/admin/auth/group/"])
def test_admin_refuses_staff_who_are_not_superusers(db, path):
    staff = User.objects.create_user("13700000001", "Gongyu-test-2026!", name="运维", is_staff=True)
    client = Client()
    client.force_login(staff)
    response = client.get(path)
    assert response.status_code in (302, 403, 404), f"non-superuser staff reached {path}: {response.status_code}"
    if response.status_code == 302:
        assert urlsplit(response["Location"]).path != path


def test_admin_lets_a_superuser_in(db):
    root = User.objects.create_superuser("13700000002", "Gongyu-test-2026!", name="超级管理员")
    client = Client()
    client.force_login(root)
    assert client.get("/ops/admin/").status_code == 200
