"""Run a real fangkong command that stops, mid-way, where a crash test wants to kill it.

    python -m tests.crash_hooks MODULE:FUNCTION:N MARKER COMMAND [ARGS ...]

runs `fangkong COMMAND ARGS` in this process after wrapping MODULE.FUNCTION: its N-th
call runs to the end, then writes this process's id to MARKER and sleeps instead of
returning. The caller is then inside whatever transaction called it, with the rows it
wrote not yet committed; the test SIGKILLs the process there. Nothing in fangkong
knows about this: it is a breakpoint set from outside, like a debugger's.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any


def pause_after(spec: str, marker: Path) -> None:
    module_name, name, nth = spec.split(":")
    module = importlib.import_module(module_name)
    real = getattr(module, name)
    calls = 0

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        result = real(*args, **kwargs)
        if calls == int(nth):
            marker.write_text(str(os.getpid()))
            time.sleep(3600)
        return result

    setattr(module, name, wrapped)


def main(argv: list[str]) -> None:
    spec, marker, *command = argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    pause_after(spec, Path(marker))
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fangkong", *command])


if __name__ == "__main__":
    main(sys.argv[1:])
