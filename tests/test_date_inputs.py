"""Every date, date-time and time field of the product is the browser's picker and is
given its value in ISO form, in every language: a picker drops "2026/12/06" (how
zh-Hans writes a date) and comes up empty, so a prefilled bulletin day was lost and
the required field refused every make."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from datetime import date, datetime, time

import pytest
from django import forms
from django.utils import timezone, translation

import fangkong

ISO = {
    "date": (date(2026, 12, 6), re.compile(r'value="2026-12-06"')),
    "datetime-local": (
        datetime(2026, 12, 6, 17, 5, tzinfo=timezone.get_default_timezone()),
        re.compile(r'value="2026-12-06T17:05"'),
    ),
    "time": (time(17, 5), re.compile(r'value="17:05(:00)?"')),
}


def _form_classes() -> Iterator[type[forms.BaseForm]]:
    for info in pkgutil.walk_packages(fangkong.__path__, "fangkong."):
        if info.name.rsplit(".", 1)[-1].startswith(("forms", "views")):
            importlib.import_module(info.name)
    seen: set[type[forms.BaseForm]] = set()
    todo = [forms.BaseForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    yield from (c for c in seen if c.__module__.startswith("fangkong."))


def _date_fields() -> list[tuple[str, forms.Widget]]:
    found = []
    for cls in _form_classes():
        for name, field in getattr(cls, "base_fields", {}).items():
            if isinstance(field, forms.DateField | forms.DateTimeField | forms.TimeField):
                found.append((f"{cls.__module__}.{cls.__name__}.{name}", field.widget))
    return sorted(found, key=lambda pair: pair[0])


def test_the_walk_finds_the_known_date_fields():
    names = {name for name, _widget in _date_fields()}
    assert {
        "fangkong.reports.forms.BulletinForm.day",
        "fangkong.reports.forms.SettingsForm.deadline",
        "fangkong.screening.forms.PushedListForm.deadline",
        "fangkong.screening.forms.SweepForm.starts_on",
        "fangkong.policy.forms.EditionForm.effective_from",
    } <= names


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
def test_every_date_and_time_input_renders_an_iso_value(language):
    wrong = []
    with translation.override(language):
        for name, widget in _date_fields():
            kind = getattr(widget, "input_type", "")
            if kind not in ISO:
                wrong.append(f"{name}: a {kind or type(widget).__name__} input, not a picker")
                continue
            value, pattern = ISO[kind]
            html = widget.render("x", value)
            if not pattern.search(html):
                wrong.append(f"{name}: {html}")
    assert not wrong, wrong
