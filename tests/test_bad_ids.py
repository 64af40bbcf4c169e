"""Bad ids anywhere answer 400/404 or the form again with a message, never 500 (issue 12:
POST /activities/campaigns/<id>/post/ with student=abc answered 500).

The URL resolver is walked as in tests/test_urls.py. Every page and API route — on a real object of the
world where it takes one (tests/test_scope_every_object.py) — gets GET and POST requests whose id and
integer fields (student, session, unit, class, school, period, stars, capacity, page …) hold what no
form sends: words, fractions, negative and overlong numbers, nothing. Each user who may use the page
sends them: an operator who sees everything, a district administrator, a class teacher and a guardian.
"""

from __future__ import annotations

import re

from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, User
from activities import services
from activities.models import CampaignKind, CampaignPost
from tests.test_notices_helpers import notice_settings  # noqa: F401
from tests.test_scope_every_object import API, PAGES, objects  # noqa: F401
from tests.test_urls import iter_leaves

BAD = ["abc", "1.5", "-1", "99999999999999999999", ""]
# Names under which pages and forms take ids and whole numbers.
ID_FIELDS = [
    "student", "students", "guardian", "guardians", "session", "unit", "units", "class", "class_id", "school", "school_class", "period",
    "parent", "child", "topic", "course", "lesson", "activity", "campaign", "notice", "owner_unit", "audience_units", "co_organisers",
    "author_unit", "page", "page_size", "stars", "rating", "position", "capacity", "hours_target", "order", "hours", "duration_minutes",
    "grade_year", "class_no", "entry_year", "max_party_size", "credited_hours", "signup", "target",
]
# Fields the views read besides ids, so that requests get past "nothing chosen" to the id handling.
OTHER_POST = {"self": "1", "text": "x", "comment": "x", "feedback": "x", "note": "x", "title": "x", "body": "x", "reason": "x",
              "choice": "confirm", "action": "bulk", "decision": "approve", "names": "x", "minutes": "x", "vote": "1", "format": "csv"}
USERS = ("root", "district_admin", "teacher_a1", "parent_a1")


def _fields(value):
    return {name: value for name in ID_FIELDS}


def _url_for(leaf, o, user_key):
    """The leaf's URL on an object of its kind the user sees (None: nothing of that kind to open)."""
    route = leaf.route
    if "<" not in route:
        return "/" + route.replace("^", "").replace("$", "")
    kind = API.get(route, (None,))[0] if route.startswith("api/") else PAGES.get(leaf.name, (None,))[0]
    if kind is None:
        return None
    pick = next((obj for _key, (k, obj, sees) in o.items() if k == kind and (user_key == "root" or user_key in sees)), None)
    if pick is None:
        return None
    url = re.sub(r"<(?:int:)?pk>|<(?:int:)?\w+_id>", str(pick.pk), route, count=1)
    url = re.sub(r"<int:class_id>", str(o["class_a1"][1].pk), url)
    return "/" + url


def test_bad_ids_never_answer_500(objects, django_capture_on_commit_callbacks):  # noqa: F811
    w, o = objects
    users = {"root": User.objects.create_superuser("13700000099", "Gongyu-test-2026!", name="运维")}
    users.update({k: w.users[k] for k in USERS if k != "root"})
    leaves = [leaf for leaf in iter_leaves() if not leaf.route.startswith("ops/admin/") and leaf.name not in {"accounts:logout", "api-v1:token_delete"}]
    problems, requests = [], 0
    for user_key, user in users.items():
        page = Client(raise_request_exception=False)
        page.force_login(user)
        _t, key = ApiToken.issue(user=user)
        api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")
        for leaf in leaves:
            url = _url_for(leaf, o, user_key)
            if url is None:
                continue
            client = api if leaf.route.startswith("api/") else page
            for value in BAD:
                with django_capture_on_commit_callbacks(execute=False):
                    responses = [("GET", client.get(url, _fields(value)))]
                    if client is api:
                        responses.append(("POST", client.post(url, {**_fields(value)}, content_type="application/json")))
                    else:
                        responses.append(("POST", client.post(url, {**OTHER_POST, **_fields(value)})))
                for method, response in responses:
                    requests += 1
                    if response.status_code >= 500:
                        problems.append(f"{user_key} {method} {url} with ids = {value!r} → {response.status_code}")
        page.logout()
    assert not problems, f"{len(problems)} server errors:\n" + "\n".join(sorted(set(problems)))
    assert requests > 2000, requests


def test_campaign_post_with_a_bad_child_says_so(client, world):
    """The issue's own case: student=abc answers the form's message, and nothing is posted."""


    today = timezone.localdate()
    campaign = services.campaign_create(actor=world.teacher_a1, owner_unit=world.class_a1, audience_units=[world.class_a1],
                                        kind=CampaignKind.READING, title="共读", description="", starts_on=today, ends_on=today)
    client.force_login(world.parent_a1)
    for bad in ("abc", "1.5", "99999999999999999999"):
        response = client.post(f"/activities/campaigns/{campaign.pk}/post/", {"student": bad, "text": "读完了"}, follow=True)
        assert response.status_code == 200 and "只能为自己的孩子打卡" in response.content.decode(), bad
    assert not CampaignPost.objects.exists()
