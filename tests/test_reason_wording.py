"""A measure's reason, as residents read it after their report: written as a person
writes in their language, not glued together with English punctuation and jargon
("…已于 2026-11-22 解除; 当时不是风险区.").

Every piece of the reason goes through the catalogue, the glue between its parts
included. Until the catalogue has the new wording, `ZH_HANS` below fills the gaps with
the wording proposed for it; a translation in the catalogue always wins, so the
assertions then check the real one.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.utils import translation
from django.utils.translation import trans_real

from fangkong.policy import divisions
from fangkong.policy.engine import Exposure, Origin, decide
from fangkong.policy.models import RiskArea, RiskLevel

pytestmark = pytest.mark.django_db

LUJIAZUI = "310115005"
D = date
# (context, msgid) -> proposed zh-Hans wording, for the msgids issue 13 added.
ZH_HANS = {
    (None, "Left %(origin)s on %(left)s"): "%(left)s离开%(origin)s",
    (None, "%(area)s has been %(level)s since %(from)s"): "%(area)s自%(from)s起列为%(level)s",
    (
        None,
        "that was more than %(n)d days before arriving, so it no longer counts",
    ): "离开已超过%(n)d天，不再计入",
    (
        None,
        "%(area)s only became %(level)s on %(from)s, after they left",
    ): "%(area)s在%(from)s才列为%(level)s，晚于离开日期",
    (None, "it was not a risk area when they left"): "离开时该地不是风险地区",
    (None, "No origin given"): "未填写来源地",
    (
        None,
        "%(finding)s. Under %(edition)s: %(measure)s.",
    ): "%(finding)s。按%(edition)s：%(measure)s。",
    (None, "%(first)s; then %(then)s"): "%(first)s；之后%(then)s",
    (
        None,
        "%(reason)s This is the strictest of the %(n)d places and contacts given.",
    ): "%(reason)s以上按所填%(n)d处来源地和接触中最严的一项确定。",
    ("reason", "; "): "，",
    ("list", ", "): "、",
}


@pytest.fixture
def zh_hans(monkeypatch):
    catalog = trans_real.translation("zh-hans")._catalog  # type: ignore[attr-defined]
    for (context, msgid), text in ZH_HANS.items():
        key = f"{context}\x04{msgid}" if context else msgid
        if key not in catalog:
            monkeypatch.setitem(catalog._catalogs[0], key, text)
    with translation.override("zh-hans"):
        yield


def area(code, level, start, end=None):
    name = divisions.full_name(code)
    return RiskArea.objects.create(
        code=code, name=name, level=level, effective_from=start, effective_to=end
    )


def written_as_a_person_writes(reason: str) -> None:
    assert reason.endswith("。"), reason
    assert not re.search(r"[;:]|\.(\s|$)", reason), reason  # no English punctuation
    assert not re.search(r"\d{4}-\d{2}-\d{2}", reason), reason  # dates as people write them
    assert "当时不是风险区" not in reason and "Under" not in reason, reason


def test_a_lifted_area_is_explained_in_plain_chinese(zh_hans):
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1), end=D(2022, 7, 10))
    reason = decide(D(2022, 7, 12), [Origin(LUJIAZUI, D(2022, 7, 11))]).reason
    written_as_a_person_writes(reason)
    assert reason.startswith("2022年7月11日离开上海市浦东新区陆家嘴街道，"), reason
    assert "2022年7月10日" in reason and "离开时该地不是风险地区。" in reason


def test_an_isolation_with_its_test_days_is_explained_in_plain_chinese(zh_hans):
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1))
    area("440305", RiskLevel.MEDIUM, D(2022, 7, 1))
    origins = [Origin(LUJIAZUI, D(2022, 7, 7)), Origin("440305012", D(2022, 7, 6))]
    reason = decide(D(2022, 7, 8), origins).reason
    written_as_a_person_writes(reason)
    assert "第 1、2、3、5、7 天" in reason or "第1、2、3、5、7天" in reason, reason
    assert "最严" in reason


@pytest.mark.parametrize(
    ("origins", "exposures", "on"),
    [
        ([Origin("310115007", D(2022, 7, 4))], [], D(2022, 7, 5)),  # rest of the county
        ([Origin(LUJIAZUI, D(2022, 7, 1))], [], D(2022, 7, 10)),  # outside the window
        ([Origin(LUJIAZUI, D(2022, 6, 20))], [], D(2022, 6, 21)),  # before it became risky
        ([], [Exposure("close_contact", D(2022, 7, 14))], D(2022, 7, 15)),  # 7 + 3
        ([], [], D(2022, 7, 15)),  # no origin
    ],
    ids=["rest-of-county", "outside-window", "before-risky", "close-contact", "no-origin"],
)
def test_every_kind_of_reason_is_written_in_plain_chinese(zh_hans, origins, exposures, on):
    area(LUJIAZUI, RiskLevel.HIGH, D(2022, 7, 1))
    written_as_a_person_writes(decide(on, origins, exposures).reason)
