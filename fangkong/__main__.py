"""The `fangkong` console command: Django's management commands plus the project's own.

Hyphenated names are accepted for the project's commands (`fangkong demo-town`), since
that is how people type them; they map to the underscore module names Django needs.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
