"""Cursor pages and the one error shape shared by every API operation."""

from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError

from fangkong.accounts.models import User
from fangkong.core.api_kit import cursor_page, sync_recorded, sync_status, validation_error_body

pytestmark = pytest.mark.django_db


def test_cursor_pages_cover_every_row_once_newest_first_and_survive_inserts():
    users = [User.objects.create_user(username=f"kit{i}") for i in range(7)]
    qs = User.objects.filter(username__startswith="kit")
    first, cursor = cursor_page(qs, cursor="", limit=3)
    assert [u.pk for u in first] == [u.pk for u in reversed(users)][:3]
    # A row inserted between two requests neither repeats nor hides an older row.
    User.objects.create_user(username="kit-new")
    seen = [u.pk for u in first]
    while cursor:
        page, cursor = cursor_page(qs, cursor=cursor, limit=3)
        seen += [u.pk for u in page]
    assert seen == [u.pk for u in reversed(users)]


@dataclass(frozen=True)
class _Answer:
    status: str


def test_a_sync_answer_is_recorded_already_or_else_refused():
    assert sync_status("recorded") == "recorded"
    assert sync_status("already") == "already"
    assert sync_status("refused") == "refused"
    # Whatever else a service says, the phone must not take it as kept.
    assert sync_status("") == "refused"
    answers = [_Answer("recorded"), _Answer("already"), _Answer("refused"), _Answer("recorded")]
    assert sync_recorded(answers) == 2


def test_the_last_page_has_no_cursor():
    User.objects.create_user(username="kit0")
    page, cursor = cursor_page(User.objects.filter(username="kit0"), cursor="", limit=1)
    assert len(page) == 1 and cursor is None


@pytest.mark.parametrize("bad", ["x", "eyJhZnRlciI6IC0xfQ", "bnVsbA", "eyJhZnRlciI6IDFlMzB9"])
def test_a_forged_cursor_is_a_field_error(bad):
    with pytest.raises(ValidationError) as exc:
        cursor_page(User.objects.all(), cursor=bad, limit=5)
    assert list(exc.value.message_dict) == ["cursor"]


def test_error_body_names_fields():
    body = validation_error_body(ValidationError({"phone": ["Not a mobile number."]}))
    assert body == {"detail": "Not a mobile number.", "errors": {"phone": ["Not a mobile number."]}}
    assert validation_error_body(ValidationError("Closed."))["errors"] == {}


def test_a_request_the_schema_refuses_answers_the_one_shape_by_field_in_its_language(world):
    """Types, bounds and missing fields are refused before an operation runs: in the same
    shape as a service's refusal, each field named, in the caller's language."""
    from django.test import Client

    from tests.api_keys import KeyClient, issue_persona_key

    body = {
        "name": "红码核查",
        "source": "县指挥部",
        "category": "x" * 30,
        "deadline": "明天",
        "headers": [],
    }
    client = KeyClient(issue_persona_key(world, "key_a").key)
    for language, words in (("en", "At most 14 characters."), ("zh-Hans", "最多 14 个字符。")):
        refused = client.post(
            "/api/v1/screening/lists/rows",
            body,
            content_type="application/json",
            headers={"Accept-Language": language},
        )
        assert refused.status_code == 422, refused.content
        answer = refused.json()
        assert set(answer) == {"detail", "errors", "issues"}
        assert set(answer["errors"]) == {"category", "deadline", "headers", "rows"}
        assert answer["errors"]["category"] == [words]
        assert answer["detail"].startswith("category: ")
        assert {tuple(i["loc"][-1:]) for i in answer["issues"]} >= {("category",), ("rows",)}
    missing = Client().get("/api/v1/org/teams/abc")
    assert missing.status_code in (401, 404, 422)
    bad_id = client.get("/api/v1/orders/0", headers={"Accept-Language": "en"})
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"] == {"order_id": ["At least 1."]}
