"""Activity, campaign and course forms on a phone: no "---------" rows, the only option chosen, and the
audience as a searchable checkbox list (a vendored-free own script, no inline code)."""

import re

from django.urls import reverse


def _page(client, user, name):
    client.force_login(user)
    return client.get(reverse(name)).content.decode()


def test_teacher_form_has_its_only_unit_chosen_and_no_dashes(client, world):
    body = _page(client, world.teacher_a1, "activities:create")
    assert "---------" not in body
    owner = re.search(r'<select name="owner_unit".*?</select>', body, re.S).group(0)
    assert re.findall(r"<option", owner) == ["<option"] and "selected" in owner
    # The class teacher's only audience is ticked already.
    assert re.search(rf'<input type="checkbox" name="audience_units" value="{world.class_a1.pk}"[^>]*checked', body)
    assert 'src="/static/activities/picker.js"' in body and "<script>" not in body


def test_district_form_offers_a_searchable_list_not_a_multi_select(client, world):
    body = _page(client, world.district_admin, "activities:create")
    assert "---------" not in body and "<select name=\"audience_units\"" not in body and 'multiple' not in body
    assert 'data-testid="picker-search-audience_units"' in body
    assert f'name="audience_units" value="{world.class_a1.pk}"' in body
    assert "请选择" in re.search(r'<select name="owner_unit".*?</select>', body, re.S).group(0)


def test_campaign_and_course_forms_have_no_dashes(client, world):
    assert "---------" not in _page(client, world.teacher_a1, "activities:campaign_create")
    assert "---------" not in _page(client, world.school_admin_a, "courses:create")
