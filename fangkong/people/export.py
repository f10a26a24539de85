"""Rows of person exports: streamed from the database, masked unless allowed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db.models import Prefetch

from fangkong.org.pii import is_under
from fangkong.people.models import PersonTag, Tag

PERSON_EXPORT_HEADER = [
    "姓名",
    "性别",
    "出生日期",
    "年龄",
    "证件类型",
    "证件号码",
    "联系电话",
    "与户主关系",
    "户籍类型",
    "住址",
    "所属网格",
    "网格编码",
    "状态",
    "职业",
    "工作单位",
    "特殊人群/重点行业",
]
_TAG_LABELS = dict(Tag.choices)


def person_export_rows(persons: Any, clear_paths: list[str], *, today: date) -> Iterator[list[Any]]:
    """One row per person. `iterator(chunk_size)` with a prefetch keeps memory flat:
    Django fetches tags per chunk, never the whole list at once."""
    qs = persons.select_related("household", "jurisdiction").prefetch_related(
        Prefetch("tags", queryset=PersonTag.objects.only("person_id", "tag"))
    )
    for p in qs.iterator(chunk_size=2000):
        clear = is_under(p.jurisdiction.path, clear_paths)
        age = (
            today.year
            - p.birth_date.year
            - ((today.month, today.day) < (p.birth_date.month, p.birth_date.day))
            if p.birth_date
            else ""
        )
        yield [
            p.name,
            p.get_sex_display() if p.sex else "",
            p.birth_date.isoformat() if p.birth_date else "",
            age,
            p.get_id_type_display(),
            p.id_number if clear else p.id_number_masked,
            p.phone if clear else p.phone_masked,
            p.get_relationship_display() if p.relationship else "",
            p.get_residency_display(),
            p.household.address if p.household else "",
            p.jurisdiction.name,
            p.jurisdiction.code,
            p.get_status_display(),
            p.occupation,
            p.workplace,
            "、".join(str(_TAG_LABELS.get(t.tag, t.tag)) for t in p.tags.all()),
        ]
