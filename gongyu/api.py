"""The versioned REST API for mobile clients: /api/v1/, token authentication, OpenAPI at /api/v1/openapi.json.

The OpenAPI document and the docs page (/api/v1/docs) are public: they describe the operations and
hold no data, every operation but token creation still needs a token, and a mobile developer needs
them before having an account. The docs page loads Swagger UI from our own static files ("ninja" is
an installed app, so django-ninja renders its local template rather than the CDN one) and runs under
the site's strict CSP unchanged: its template has no inline script, and Swagger UI sets styles through
the DOM, which style-src 'self' allows (checked in headless Chromium: no CSP violation when browsing,
authorising and trying an operation).
"""

from ninja import NinjaAPI

from accounts.api import TokenAuth, in_statement_guard
from core.api import install_error_handlers
from core.modules import modules

api = NinjaAPI(
    title="共育平台 API",
    version="1.0.0",
    description="家校社协同育人平台移动端接口。除获取令牌外，所有接口需要 `Authorization: Bearer <token>`。"
    "列表接口按页返回（page、page_size，每页最多 100 条）；超出范围的对象一律返回 404。",
    auth=TokenAuth(),
    urls_namespace="api-v1",
)
install_error_handlers(api)
api.add_decorator(in_statement_guard, mode="view")  # TokenAuth(in_statement=True) fails closed
# Each installed module's router, at the prefix its module.py declares (core.modules).
for _module in modules():
    if _module.api_router:
        api.add_router(_module.api_prefix, _module.api_router)
