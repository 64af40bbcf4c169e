"""Benchmark runner: `python -m bench <scenario>… [--students N]`.

Each scenario builds its own data (in its own district, so runs repeat cleanly), measures the figure its
target names, and measures a floor in the same run on the same data: the simplest way to get the same
end state with no validation or product logic. The runner ends with one line per scenario:

    <scenario>: <value> <unit> (<ratio>x floor)

Modules add scenarios by decorating a function with @scenario("name") in a module under bench/scenarios/
and importing that module from bench/scenarios/__init__.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    scenario: str
    value: float
    unit: str  # "s" for a job, "ms" for a latency (p99)
    floor: float  # same unit, measured in the same run
    details: dict = field(default_factory=dict)  # printed above the summary lines

    @property
    def ratio(self) -> float:
        return self.value / self.floor if self.floor > 0 else float("inf")

    def line(self) -> str:
        return f"{self.scenario}: {self.value:.2f} {self.unit} ({self.ratio:.2f}x floor)"


@dataclass
class Context:
    """What a scenario gets: the scale asked for, somewhere to log progress, and the shared state of this run."""

    students: int
    keep: bool = False
    reuse: bool = False  # use data a previous --keep run left, when it matches the scale (faster iterations)
    log: Callable[[str], None] = print
    state: dict = field(default_factory=dict)  # scenarios of one run may share prepared data through this


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Context], Result]
    help: str = ""


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, help: str = ""):  # noqa: A002 - mirrors argparse's wording
    """Register a scenario function: fn(ctx: Context) -> Result."""

    def register(fn: Callable[[Context], Result]):
        if name in SCENARIOS:
            raise ValueError(f"benchmark scenario {name!r} registered twice")
        SCENARIOS[name] = Scenario(name, fn, help or (fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return register
