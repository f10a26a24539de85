"""Regenerate returnees_50.csv: 50 returnee reports of 2022 with the measure each must
get, worked out by hand from docs/reference/domain-rules.md §1.4, §1.6, §1.7 against
risk_areas_2022.csv (not by running the engine).

    python tests/data/make_returnees.py
"""

from __future__ import annotations

import csv
from pathlib import Path

# origin, left, arrived, edition, category, place, first day, last day (of all periods)
CASES = [
    (
        "220102001",
        "2022-04-01",
        "2022-04-02",
        "nat-8",
        "arrival_high",
        "central",
        "2022-04-02",
        "2022-04-22",
    ),
    (
        "220103005",
        "2022-04-05",
        "2022-04-06",
        "nat-8",
        "arrival_medium",
        "home_isolation",
        "2022-04-06",
        "2022-04-19",
    ),
    (
        "220104002",
        "2022-04-10",
        "2022-04-11",
        "nat-8",
        "arrival_low",
        "tests_only",
        "2022-04-11",
        "2022-04-12",
    ),
    ("220102001", "2022-03-05", "2022-03-06", "nat-8", "returnee", "none", "", ""),
    ("220103005", "2022-04-21", "2022-04-22", "nat-8", "returnee", "none", "", ""),
    ("220102001", "2022-04-01", "2022-04-16", "nat-8", "returnee", "none", "", ""),
    (
        "310115005",
        "2022-07-02",
        "2022-07-03",
        "nat-9",
        "arrival_high",
        "central",
        "2022-07-03",
        "2022-07-09",
    ),
    (
        "310115005",
        "2022-07-01",
        "2022-07-05",
        "nat-9",
        "arrival_high",
        "central",
        "2022-07-02",
        "2022-07-08",
    ),
    (
        "310115007",
        "2022-07-03",
        "2022-07-04",
        "nat-9",
        "arrival_medium",
        "home_isolation",
        "2022-07-04",
        "2022-07-10",
    ),
    (
        "310115008",
        "2022-07-04",
        "2022-07-05",
        "nat-9",
        "arrival_low",
        "tests_only",
        "2022-07-05",
        "2022-07-07",
    ),
    ("310115005", "2022-07-21", "2022-07-22", "nat-9", "returnee", "none", "", ""),
    ("310115005", "2022-06-29", "2022-06-30", "nat-9", "returnee", "none", "", ""),
    (
        "440305002",
        "2022-09-05",
        "2022-09-06",
        "nat-9",
        "arrival_medium",
        "home_isolation",
        "2022-09-06",
        "2022-09-12",
    ),
    ("440305002", "2022-09-01", "2022-09-09", "nat-9", "returnee", "none", "", ""),
    (
        "440106001",
        "2022-11-20",
        "2022-11-21",
        "nat-20",
        "arrival_high",
        "home_isolation",
        "2022-11-21",
        "2022-11-27",
    ),
    (
        "440106002",
        "2022-11-20",
        "2022-11-21",
        "nat-20",
        "arrival_low",
        "tests_only",
        "2022-11-21",
        "2022-11-23",
    ),
    (
        "440104001",
        "2022-11-08",
        "2022-11-09",
        "nat-9",
        "arrival_medium",
        "home_isolation",
        "2022-11-09",
        "2022-11-15",
    ),
    ("440104001", "2022-11-13", "2022-11-14", "nat-20", "returnee", "none", "", ""),
    ("500101001", "2022-07-10", "2022-07-11", "nat-9", "returnee", "none", "", ""),
    (
        "220102001",
        "2022-04-20",
        "2022-04-26",
        "nat-8",
        "arrival_high",
        "central",
        "2022-04-21",
        "2022-05-11",
    ),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "志强", "丽娟", "海燕", "晓东", "春梅", "国华", "玉兰", "文杰"]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5)
CHECK = "10X98765432"


def id_number(i: int) -> str:
    first17 = f"110101{1970 + i % 30:04d}{1 + i % 12:02d}{1 + i % 28:02d}{996 + i % 4:03d}"
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=False))
    return first17 + CHECK[total % 11]


def main() -> None:
    target = Path(__file__).with_name("returnees_50.csv")
    with target.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "name",
                "id_number",
                "phone",
                "origin",
                "left_on",
                "arrived_on",
                "grid",
                "edition",
                "category",
                "place",
                "first_day",
                "last_day",
            ]
        )
        for i in range(50):
            case = CASES[i % len(CASES)]
            name = SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)]
            grid = ("A1", "B1", "A")[i % 3]
            writer.writerow(
                [name, id_number(i), f"139{i:08d}", case[0], case[1], case[2], grid, *case[3:]]
            )
    print(f"wrote {target}")  # noqa: T201


if __name__ == "__main__":
    main()
