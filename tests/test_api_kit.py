"""Cursor pages and the one error shape shared by every API operation."""

import pytest
from django.core.exceptions import ValidationError

from fangkong.accounts.models import User
from fangkong.core.api_kit import cursor_page, validation_error_body

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
