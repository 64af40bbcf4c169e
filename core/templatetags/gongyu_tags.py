"""Small template helpers shared by pages: unit icons, pagination links that keep the query, and the
modules' tiles on the family page."""

from django import template

from core.modules import card_tiles
from core.scoping import get_scope

register = template.Library()

# Keyed by org.models.Kind's values (a Kind is a str): core imports no app.
_KIND_ICONS = {
    "district": "bi-buildings",
    "street": "bi-signpost-2",
    "community": "bi-house-heart",
    "school": "bi-mortarboard",
    "grade": "bi-collection",
    "class": "bi-people",
    "department": "bi-bank",
    "partner": "bi-award",
}


@register.filter
def kind_icon(unit) -> str:
    return _KIND_ICONS.get(getattr(unit, "kind", unit), "bi-circle")


@register.simple_tag(takes_context=True)
def page_url(context, number) -> str:
    """The current URL with ?page=number, other query parameters kept."""
    params = context["request"].GET.copy()
    params["page"] = number
    return "?" + params.urlencode()


@register.inclusion_tag("_pager.html", takes_context=True)
def pager(context, page):
    return {"page": page, "request": context["request"]}


@register.simple_tag(takes_context=True)
def family_tiles(context) -> list[dict]:
    """The modules' cards that also go on the family page (Card.family), for the signed-in user; their dots
    read the request's to-do counts (the `todo` the context processor gives every page)."""
    user = context["request"].user
    return card_tiles(user, get_scope(user), context.get("todo"), family=True)
