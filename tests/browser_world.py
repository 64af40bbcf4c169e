"""Build the test world in the database named by the environment and print what the browser test needs.

Run as `python -m tests.browser_world` with GONGYU_ENV=test and SQLITE_PATH (or DATABASE_URL) set, after
`manage.py migrate`. Prints one JSON object: {"phones": {key: phone}, "ids": {key: id}, "password": ...,
"notices": {key: id}}.
"""

import importlib
import os

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongyu.settings")
    django.setup()
    # The build imports models, so it is loaded only once Django is set up.
    return importlib.import_module("tests.browser_world_build").main()


if __name__ == "__main__":
    raise SystemExit(main())
