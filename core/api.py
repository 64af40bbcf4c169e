"""Shared pieces of the /api/v1/ layer: page-number pagination with a hard page-size limit, and error
handlers that answer in Chinese with a stable shape: {"detail": "...", "errors": [...]}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.pagination import PaginationBase

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
# Ids beyond a signed 64-bit integer cannot exist; refusing them early keeps the database from
# raising an overflow error (a 500) on PostgreSQL and SQLite alike.
MAX_ID = 2**63 - 1


class Pagination(PaginationBase):
    """?page=1&page_size=50. page_size above MAX_PAGE_SIZE is refused (422), never silently served."""

    class Input(Schema):
        page: int = Field(1, ge=1, description="页码，从 1 开始")
        page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"每页条数，1–{MAX_PAGE_SIZE}")

    class Output(Schema):
        items: list[Any]
        count: int = Field(description="符合条件的总条数")
        page: int
        page_size: int

    def paginate_queryset(self, queryset: QuerySet, pagination: Input, request, **params) -> dict:
        count = self._items_count(queryset)
        offset = (pagination.page - 1) * pagination.page_size
        # A page past the end is empty; skipping the query also keeps huge page numbers away from
        # the database, whose OFFSET would overflow.
        items = queryset[offset : offset + pagination.page_size] if offset < count else []
        return {"items": items, "count": count, "page": pagination.page, "page_size": pagination.page_size}


# --- Errors ---------------------------------------------------------------------------------------

_FIELD_LABELS = {
    "page": "页码 page",
    "page_size": "每页条数 page_size",
    "id": "编号 id",
    "unit_id": "单位编号",
    "student_id": "学生编号",
    "class_id": "班级编号 class_id",
    "parent": "上级单位 parent",
    "kind": "单位类型 kind",
    "phone": "手机号 phone",
    "password": "密码 password",
}


def refused(exc) -> Status:
    """The API's answer to a service's refusal (a django ValidationError): 409 with its first message and code."""
    return Status(409, {"detail": exc.messages[0], "code": exc.code or "invalid"})


def _field_label(loc: list) -> str:
    # loc looks like ["query", "page_size"] or ["body", "payload", "phone"]; the last name is the field.
    names = [str(p) for p in loc if p not in ("query", "path", "body", "payload", "form", "header", "cookie")]
    name = names[-1] if names else ""
    return _FIELD_LABELS.get(name, name or _("请求"))


def _message(error: dict) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("缺少必填项。")
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return _("应为整数。")
    if kind in {"bool_parsing", "bool_type"}:
        return _("应为 true 或 false。")
    if kind in {"string_type"}:
        return _("应为文字。")
    if kind in {"greater_than_equal", "greater_than"}:
        return _("应不小于 %(limit)s。") % {"limit": ctx.get("ge", ctx.get("gt"))}
    if kind in {"less_than_equal", "less_than"}:
        return _("应不大于 %(limit)s。") % {"limit": ctx.get("le", ctx.get("lt"))}
    if kind == "literal_error" or kind == "enum":
        return _("取值无效，可选值：%(expected)s。") % {"expected": str(ctx.get("expected", "")).replace(" or ", ", ")}
    if kind in {"string_too_long"}:
        return _("过长，最多 %(max)s 个字符。") % {"max": ctx.get("max_length")}
    if kind in {"string_too_short"}:
        return _("过短，至少 %(min)s 个字符。") % {"min": ctx.get("min_length")}
    if kind in {"json_invalid", "model_attributes_type", "dict_type", "model_type"}:
        return _("格式不正确，应为 JSON 对象。")
    return _("取值无效。")


def validation_detail(errors: list[dict]) -> tuple[str, list[dict]]:
    items = [{"loc": list(e.get("loc", [])), "msg": f"{_field_label(e.get('loc', []))}：{_message(e)}", "type": e.get("type", "")} for e in errors]
    if not items:
        return _("请求参数不正确，请检查后重试。"), []
    return _("请求参数不正确：%(first)s") % {"first": items[0]["msg"]}, items


def install_error_handlers(api) -> None:
    """Every error the API gives has a Chinese `detail` a client can show as it is."""

    @api.exception_handler(ValidationError)
    def _validation(request, exc):
        detail, errors = validation_detail(exc.errors)
        return api.create_response(request, {"detail": detail, "errors": errors}, status=422)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        detail = _("未登录或令牌已失效，请用手机号和密码重新获取令牌（POST /api/v1/auth/token）。")
        return api.create_response(request, {"detail": detail}, status=401)

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        # The same answer for "does not exist" and "not yours": existence is not revealed.
        return api.create_response(request, {"detail": _("未找到该对象，或您无权查看。")}, status=404)

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc):
        return api.create_response(request, {"detail": str(exc) or _("您无权进行此操作。")}, status=403)

    @api.exception_handler(HttpError)
    def _http_error(request, exc):
        if exc.status_code == 400:
            detail = _("请求内容无法解析，请发送有效的 JSON。")
        elif exc.status_code == 405:
            detail = _("不支持该请求方法。")
        elif exc.status_code == 403:
            detail = _("您无权进行此操作。")
        elif exc.status_code == 429:
            detail = _("请求过于频繁，请稍后再试。")
        else:
            detail = str(exc)
        return api.create_response(request, {"detail": detail}, status=exc.status_code)
