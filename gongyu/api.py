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
from accounts.api import router as accounts_router
from core.api import install_error_handlers
from org.api import router as org_router
from people.api import router as people_router

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
api.add_router("/auth", accounts_router)
api.add_router("/org", org_router)
api.add_router("/people", people_router)
api.add_router("/notices", "notices.api.router")
api.add_router("/activities", "activities.api.router")
api.add_router("/courses", "courses.api.router")
api.add_router("/homeschool", "homeschool.api.router")
