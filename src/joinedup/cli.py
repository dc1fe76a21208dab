"""The `joinedup` command: Django's manage.py, with our own commands beside Django's.

Our commands are written with hyphens (`joinedup load-federation PATH`); Django's module
names use underscores, so the first argument is translated before Django sees it.
"""

import os
import sys

from django.core.management import execute_from_command_line


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")
    args = list(sys.argv if argv is None else argv)
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    execute_from_command_line(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
