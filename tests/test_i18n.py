"""The UI speaks simplified Chinese by default and switches to traditional Chinese or English."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils.translation import override

from fangkong.org.roles import Role

LOGIN_URL = "/accounts/login/"
CJK = re.compile(r"[\u4e00-\u9fff]")


def switch_language(client: Client, language: str) -> None:
    response = client.post("/accounts/language/", {"language": language, "next": LOGIN_URL})
    assert response.status_code == 302
    assert response.headers["Location"] == LOGIN_URL


@pytest.mark.django_db
def test_login_page_is_simplified_chinese_by_default():
    response = Client().get(LOGIN_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "登录" in html
    assert "疫情防控指挥系统" in html
    assert "Log in" not in html


@pytest.mark.django_db
def test_login_page_switches_to_traditional_chinese():
    client = Client()
    switch_language(client, "zh-hant")
    html = client.get(LOGIN_URL).content.decode()
    assert '<html lang="zh-hant">' in html
    assert "登錄" in html
    assert "疫情防控指揮系統" in html
    assert "登录" not in html


@pytest.mark.django_db
def test_login_page_switches_to_english():
    client = Client()
    switch_language(client, "en")
    html = client.get(LOGIN_URL).content.decode()
    assert "Log in" in html
    assert "Epidemic prevention and control command system" in html
    assert "登录" not in html


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant"])
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_role_labels_are_translated(role, language):
    with override(None):
        msgid = str(role.label)  # no active translation: the English msgid itself
    with override(language):
        label = str(role.label)
    assert label != msgid
    assert CJK.search(label), label


def test_role_labels_are_distinct_in_chinese():
    with override("zh-hans"):
        labels = [str(role.label) for role in Role]
    assert len(set(labels)) == len(labels)
    assert str(Role.GRID_WORKER.label) != str(Role.GRID_LEADER.label)
    with override("zh-hans"):
        assert str(Role.GRID_WORKER.label) == "网格员"
        assert str(Role.TOWN_COMMANDER.label) == "指挥长"
