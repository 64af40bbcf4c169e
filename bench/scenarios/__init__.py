"""Every scenario module is imported here; importing registers its scenarios."""

from bench.scenarios import roster  # noqa: F401
from bench.scenarios import activities  # noqa: F401
from bench.scenarios import notices  # noqa: F401
