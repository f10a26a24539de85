"""Printed before the test run: which database and whether browser tests will run."""

from __future__ import annotations

import os
import sys

from tests.browser_support import CHROMIUM, browser_available


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    db = "PostgreSQL" if url.startswith(("postgres", "postgresql")) else "SQLite"
    print(
        f"fangkong tests: database = {db}"
        + ("" if url else " (set DATABASE_URL=postgres://... for PostgreSQL)")
    )
    if browser_available():
        print(f"fangkong tests: browser tests ON (chromium at {CHROMIUM})")
        return 0
    if os.environ.get("FANGKONG_REQUIRE_BROWSER") == "1":
        print(
            f"fangkong tests: FANGKONG_REQUIRE_BROWSER=1 but no chromium at {CHROMIUM}",
            file=sys.stderr,
        )
        return 1
    print(
        f"fangkong tests: *** browser tests SKIPPED: no chromium at {CHROMIUM} "
        "(apt-get install chromium to run them) ***"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
