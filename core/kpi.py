"""The KPI provider interface (docs/decisions/0011): a figure that a module can report for any org node and
period, declared once with its Chinese title and definition, computed as one SQL aggregate.

Modules list their providers in module.py (Module.kpis); registry() lists them all. A provider computes
for a node regardless of the asker: who may see a node's figures is the caller's check (figure_for()
does it — the node must be visible to the user), as the district cockpit (issue 14) will.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.http import Http404

from core.modules import all_kpis


@dataclass(frozen=True)
class Period:
    """[start, end): dates, the end excluded (a school term, a month, a year)."""

    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.end <= self.start:
            raise ValueError(f"a period ends after it starts: {self.start} .. {self.end}")


@dataclass(frozen=True)
class Figure:
    """A KPI's value for one node and period. For a rate, numerator/denominator say what it is made of
    (the cockpit shows both); value is None when the denominator is 0 (no one to count, not 0 %)."""

    value: Decimal | None
    numerator: int | None = None
    denominator: int | None = None

    @classmethod
    def rate(cls, numerator: int, denominator: int, places: int = 1) -> Figure:
        if not denominator:
            return cls(None, numerator, denominator)
        value = (Decimal(100) * numerator / denominator).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return cls(value, numerator, denominator)


@dataclass(frozen=True)
class KpiProvider:
    code: str  # "<app>.<figure>", stable: reports and the cockpit's configuration name it
    title: str  # Chinese, short
    definition: str  # Chinese: what is counted, over which people, in which period
    unit: str  # Chinese unit shown after the value: "%", "人", "次"
    compute: Callable[[Period, object], Figure]  # (period, org unit) -> Figure, one aggregate query

    def __post_init__(self):
        if "." not in self.code:
            raise ValueError(f"a KPI code is <app>.<figure>: {self.code!r}")


def registry() -> dict[str, KpiProvider]:
    """Every installed module's KPI providers, by code."""
    out: dict[str, KpiProvider] = {}
    for kpi in all_kpis():
        if kpi.code in out:
            raise ValueError(f"KPI {kpi.code!r} is declared twice")
        out[kpi.code] = kpi
    return out


def get(code: str) -> KpiProvider:
    try:
        return registry()[code]
    except KeyError:
        raise LookupError(f"no KPI provider {code!r} (is its module installed?)") from None


def figure_for(user, code: str, period: Period, node) -> Figure:
    """The figure for a node the user sees (404 otherwise, like any object outside the scope)."""
    if not type(node)._default_manager.visible_to(user).filter(pk=node.pk).exists():
        raise Http404
    return get(code).compute(period, node)
