"""Small template helpers shared by pages: unit icons and pagination links that keep the query."""

from django import template

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
