from core.kpi import Figure, KpiProvider
from core.modules import Card, DemoStep, Module
from core.perms import can
from tests.fakemodule.perms import USE


def _card(user, scope):
    return ("fakemodule:home", "测试模块的说明", "fake_todo") if can(user, USE) else None


def _family_card(user, scope):
    return ("fakemodule:home", "", "fake_todo") if scope.guardian_id else None


def fake_todo(user) -> int:
    return 3


MODULE = Module(
    label="fakemodule",
    url_prefix="fake/",
    urls="tests.fakemodule.urls",
    perms=(USE,),
    cards=(Card("bi-star", "测试模块", _card, order=35), Card("bi-star", "家庭测试", _family_card, order=36, family=True)),
    counters={"fake_todo": "tests.fakemodule.module.fake_todo"},
    object_pages={"fakemodule:thing": ("thing", "GET")},
    kpis=(KpiProvider("fakemodule.count", "测试指标", "测试用", "次", lambda period, node: Figure(None)),),
    demo=DemoStep("fake_demo", order=99),
)
