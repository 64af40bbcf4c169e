"""The versioned REST API for mobile clients: /api/v1/, token authentication, OpenAPI at /api/v1/openapi.json."""

from ninja import NinjaAPI

from accounts.api import TokenAuth, router as accounts_router
from org.api import router as org_router
from people.api import router as people_router

api = NinjaAPI(
    title="共育平台 API",
    version="1.0.0",
    description="家校社协同育人平台移动端接口。除获取令牌外，所有接口需要 `Authorization: Bearer <token>`。",
    auth=TokenAuth(),
    urls_namespace="api-v1",
)
api.add_router("/auth", accounts_router)
api.add_router("/org", org_router)
api.add_router("/people", people_router)
