"""The project's settings plus the probe app, on a queue of the test's own (GONGYU_HUEY_PROBE names it)."""

import os

from gongyu.settings import *  # noqa: F403
from gongyu.settings import HUEY, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.huey_probe"]
HUEY = {**HUEY, "name": os.environ["GONGYU_HUEY_PROBE"]}
