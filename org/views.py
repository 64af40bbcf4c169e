"""Pages of the organisation tree. Every id goes through fetch_for (404 outside the scope); writes go
through org.services, which check the scope again."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.modules import provider
from core.perms import can, can_provided
from core.scoping import fetch_for
from org import selectors, services
from org.forms import UnitForm
from org.models import ALLOWED_CHILDREN, Kind, OrgUnit, SchoolClass
from org.perms import INVITE_SLOT, ROSTER_SLOT
from org.perms import MANAGE as ORG_MANAGE

CHILDREN_PER_PAGE = 50
TREE_CHILDREN_LIMIT = 200
SEARCH_LIMIT = 50


def _ancestor_map(user, units) -> dict[int, list[OrgUnit]]:
    """Visible ancestors of several units in one query, as {unit id: [ancestors top first]}."""
    ids = {a for u in units for a in u.ancestor_ids}
    if not ids:
        return {u.id: [] for u in units}
    by_id = {a.id: a for a in OrgUnit.objects.visible_to(user).filter(id__in=ids)}
    return {u.id: [by_id[a] for a in u.ancestor_ids if a in by_id] for u in units}


@login_required
def tree(request):
    user = request.user
    query = request.GET.get("q", "").strip()[:50]
    results = None
    if query:
        found = list(selectors.units_for(user).filter(name__icontains=query).order_by("depth", "path")[: SEARCH_LIMIT + 1])
        more = len(found) > SEARCH_LIMIT
        found = found[:SEARCH_LIMIT]
        ancestors = _ancestor_map(user, found)
        results = {"units": [(u, ancestors[u.id]) for u in found], "more": more}
    roots = selectors.tree_roots(user)
    ancestors = _ancestor_map(user, roots)
    children = sorted(selectors.units_for(user).filter(parent__in=roots), key=selectors.sibling_key)
    selectors.with_counts(user, roots + children)
    by_parent: dict[int, list[OrgUnit]] = {}
    for child in children:
        by_parent.setdefault(child.parent_id, []).append(child)
    blocks = [{"root": r, "ancestors": ancestors[r.id], "children": by_parent.get(r.id, [])} for r in roots]
    return render(
        request,
        "org/tree.html",
        {"blocks": blocks, "query": query, "results": results, "show_people": selectors.sees_people_counts(user)},
    )


@login_required
def unit_children(request, pk):
    """HTMX partial: the visible children of a unit, each expandable in turn."""
    unit = selectors.get_unit_for(request.user, pk)
    children = selectors.children_of(request.user, unit)
    more = len(children) > TREE_CHILDREN_LIMIT
    return render(
        request,
        "org/_children.html",
        {
            "unit": unit,
            "children": children[:TREE_CHILDREN_LIMIT],
            "more": more,
            "show_people": selectors.sees_people_counts(request.user),
        },
    )


@login_required
def unit_detail(request, pk):
    user = request.user
    unit = selectors.get_unit_for(user, pk)
    all_children = sorted(selectors.units_for(user).filter(parent=unit), key=selectors.sibling_key)
    page = Paginator(all_children, CHILDREN_PER_PAGE).get_page(request.GET.get("page"))
    selectors.with_counts(user, [unit, *page.object_list])
    can_manage = can(user, ORG_MANAGE, unit)
    parent = unit.parent if unit.parent_id else None
    parent_active = parent is None or parent.is_active
    context = {
        "unit": unit,
        "crumbs": selectors.breadcrumb(user, unit),
        "page": page,
        "children_total": len(all_children),
        "show_people": selectors.sees_people_counts(user),
        "can_manage": can_manage,
        "add_kinds": [(k, Kind(k).label) for k in sorted(ALLOWED_CHILDREN[Kind(unit.kind)], key=selectors.KIND_RANK.get)]
        if can_manage and unit.is_active
        else [],
        "can_toggle": can_manage and unit.kind != Kind.DISTRICT and (unit.is_active or parent_active),
        "parent_active": parent_active,
        "subtree_size": selectors.subtree_size(unit) if can_manage and unit.kind != Kind.DISTRICT else 0,
    }
    if unit.kind == Kind.CLASS:
        context.update(
            {
                "can_roster": can_provided(user, ROSTER_SLOT, unit),
                "can_invite": can_provided(user, INVITE_SLOT, unit),
                "class_teachers": selectors.class_teacher_names([unit.id]).get(unit.id, []),
            }
        )
    return render(request, "org/unit_detail.html", context)


def _apply_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: on a field where it names one, else at the top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                if field == NON_FIELD_ERRORS and "org_unit_code_unique" in message:
                    message = _("该编码在本区已被使用，请换一个编码或留空。")
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


@login_required
def unit_add(request, pk):
    user = request.user
    parent = selectors.get_unit_for(user, pk, for_write=True)
    allowed = sorted(ALLOWED_CHILDREN[Kind(parent.kind)], key=selectors.KIND_RANK.get)
    context = {"parent": parent, "crumbs": selectors.breadcrumb(user, parent), "allowed": [(k, Kind(k).label) for k in allowed]}
    if not parent.is_active:
        messages.error(request, _("该单位已停用，不能在其下添加单位。请先启用该单位。"))
        return redirect("org:unit_detail", pk=parent.pk)
    if not allowed:
        messages.error(request, _("“%(kind)s”下不能再添加下级单位。") % {"kind": Kind(parent.kind).label})
        return redirect("org:unit_detail", pk=parent.pk)
    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    if kind not in allowed:
        if len(allowed) == 1:
            kind = allowed[0]
        else:
            if request.method == "POST":
                messages.error(request, _("请选择要添加的单位类型。"))
            return render(request, "org/unit_form.html", {**context, "form": None, "mode": "add"})
    form = UnitForm(request.POST or None, kind=kind, district_id=parent.district_id)
    if request.method == "POST" and form.is_valid():
        try:
            unit = services.unit_create(actor=user, kind=kind, parent=parent, **form.service_fields())
        except ValidationError as exc:
            _apply_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("您无权在该单位下添加组织。"))
        else:
            messages.success(request, _("已添加%(kind)s“%(name)s”。") % {"kind": Kind(kind).label, "name": unit.name})
            return redirect("org:unit_detail", pk=unit.pk)
    return render(request, "org/unit_form.html", {**context, "form": form, "kind": kind, "kind_label": Kind(kind).label, "mode": "add"})


@login_required
def unit_edit(request, pk):
    user = request.user
    unit = selectors.get_unit_for(user, pk, for_write=True)
    form = UnitForm(request.POST or None, kind=unit.kind, district_id=unit.district_id, instance=unit)
    if request.method == "POST" and form.is_valid():
        try:
            services.unit_update(actor=user, unit=unit, **form.service_fields())
        except ValidationError as exc:
            unit.refresh_from_db()
            _apply_errors(form, exc)
        except PermissionDenied as exc:
            unit.refresh_from_db()
            form.add_error(None, str(exc) or _("您无权修改该单位。"))
        else:
            messages.success(request, _("已保存“%(name)s”。") % {"name": unit.name})
            return redirect("org:unit_detail", pk=unit.pk)
    return render(
        request,
        "org/unit_form.html",
        {"unit": unit, "crumbs": selectors.breadcrumb(user, unit), "form": form, "kind": unit.kind, "kind_label": unit.get_kind_display(), "mode": "edit"},
    )


@login_required
def unit_toggle(request, pk):
    """POST active=0 switches the unit and its subtree off, active=1 back on."""
    user = request.user
    unit = selectors.get_unit_for(user, pk, for_write=True)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    wanted = request.POST.get("active")
    if wanted not in {"0", "1"}:
        messages.error(request, _("请求无效，请在单位页面上点击“停用”或“启用”按钮。"))
        return redirect("org:unit_detail", pk=unit.pk)
    active = wanted == "1"
    if active and unit.parent_id and not unit.parent.is_active:
        messages.error(request, _("上级单位“%(name)s”已停用，请先启用上级单位。") % {"name": unit.parent.name})
        return redirect("org:unit_detail", pk=unit.pk)
    try:
        services.unit_set_active(actor=user, unit=unit, active=active)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", None) or [str(exc)]))
    else:
        if active:
            messages.success(request, _("已启用“%(name)s”及其下级单位。") % {"name": unit.name})
        else:
            messages.success(request, _("已停用“%(name)s”及其下级单位。停用不会删除任何记录，可随时重新启用。") % {"name": unit.name})
    return redirect("org:unit_detail", pk=unit.pk)


def _class_for(user, pk, slot: str) -> SchoolClass:
    """A class the user sees and holds the slot's permission on (fetch_for's perm=, for a provided one)."""
    school_class = fetch_for(user, SchoolClass, pk)
    if not can_provided(user, slot, school_class):
        raise Http404
    return school_class


@login_required
def class_roster(request, pk):
    school_class = _class_for(request.user, pk, ROSTER_SLOT)
    # The roster is people's page at org's URL: people provides it (org imports no people).
    return provider("org.class_roster_page")(request, school_class)


@login_required
def class_invite_reset(request, pk):
    user = request.user
    school_class = _class_for(user, pk, INVITE_SLOT)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.class_reset_invite_code(actor=user, unit=school_class)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("您无权重置该班级的邀请码。"))
    else:
        messages.success(
            request, _("邀请码已重置为 %(code)s，旧邀请码已失效。请把新邀请码发给尚未激活的家长。") % {"code": school_class.invite_code}
        )
    nxt = request.POST.get("next", "")
    if nxt == "roster":
        return redirect("org:class_roster", pk=school_class.pk)
    return redirect("org:unit_detail", pk=school_class.pk)
