"""Build the test world in the database named by the environment and print what the browser test needs.

Run as `python -m tests.browser_world` with GONGYU_ENV=test and SQLITE_PATH (or DATABASE_URL) set, after
`manage.py migrate`. Prints one JSON object: {"phones": {key: phone}, "ids": {key: id}, "password": ...}.
"""

import json
import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongyu.settings")
    import django

    django.setup()
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    # The hash records its own iteration count, so the server verifies these cheap hashes as usual;
    # building two dozen accounts at the production cost would only slow the test down.
    PBKDF2PasswordHasher.iterations = 1000

    from tests.world import PASSWORD, build_world

    world = build_world()
    out = {
        "password": PASSWORD,
        "phones": {key: user.phone for key, user in world.users.items()},
        "ids": {key: obj.pk for bag in (world.units, world.students) for key, obj in bag.items()},
        "names": {key: obj.name for bag in (world.units, world.students) for key, obj in bag.items()},
    }
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
