"""Small template helpers shared by pages: unit icons and pagination links that keep the query."""

from django import template

from org.models import Kind

register = template.Library()

_KIND_ICONS = {
    Kind.DISTRICT: "bi-buildings",
    Kind.STREET: "bi-signpost-2",
    Kind.COMMUNITY: "bi-house-heart",
    Kind.SCHOOL: "bi-mortarboard",
    Kind.GRADE: "bi-collection",
    Kind.CLASS: "bi-people",
    Kind.DEPARTMENT: "bi-bank",
    Kind.PARTNER: "bi-award",
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
