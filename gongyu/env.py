"""Typed environment readers that fail loudly on bad values (after healthchecks' envbool/envint)."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env(name: str, default: str = "") -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (for Docker/K8s secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = env(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def envint(name: str, default: int, minimum: int | None = None) -> int:
    raw = env(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = env(name, "")
    if not raw.strip():
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def setting(name: str, default):
    """A Django setting when the settings module defines it (tests override them), else the environment
    variable of that name, parsed like its default (an int default gives a non-negative int)."""
    from django.conf import settings  # noqa: PLC0415 — gongyu.env is read while the settings module loads

    if hasattr(settings, name):
        return getattr(settings, name)
    if isinstance(default, int) and not isinstance(default, bool):
        return envint(name, default, minimum=0)
    return env(name, default)
