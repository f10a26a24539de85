"""Edit forms never put a stored ID number or phone back into the page in clear."""

from __future__ import annotations

import html
import logging
from datetime import date
from types import SimpleNamespace

import pytest
from django.db.models import Model

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.people.forms import PersonForm
from fangkong.people.models import Person, PersonChange
from tests.world import ensure_registry

ID_A1 = "11010519491231002X"  # 沈楼居, in micro-grid A1M1
PHONE_A1 = "13600000001"
NEW_PHONE = "13712345670"


def _form_data(person: Person, **changes: str) -> dict[str, str]:
    """What the edit form posts when the ID and phone inputs are left as they start."""
    data = {
        "name": person.name,
        "id_type": person.id_type,
        "id_number": "",
        "no_id_reason": person.no_id_reason,
        "sex": person.sex,
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "phone": "",
        "phone2": "",
        "residency": person.residency,
        "status": person.status,
        "occupation": person.occupation,
    }
    return data | changes


def _rows_text(*models: type[Model]) -> str:
    return "\n".join(repr(list(m.objects.values())) for m in models)  # type: ignore[attr-defined]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["gw_a1", "cadre_a", "commander"])
def test_the_edit_form_shows_the_id_and_phone_masked_and_audits_nothing(world, login, persona):
    ensure_registry(world)
    person = world.persons["A1M1"]
    page = login(persona).get(f"/people/p/{person.pk}/edit/")
    text = html.unescape(page.content.decode())
    assert page.status_code == 200
    assert ID_A1 not in text and PHONE_A1 not in text
    assert "110***********002X" in text and "136****0001" in text
    assert 'name="id_number"' in text and 'name="phone"' in text  # a new value may be typed
    # Seeing the current value in clear is the audited unmasking, offered beside the form.
    assert f"/people/p/{person.pk}/unmask/" in text
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_PII).exists()


@pytest.mark.django_db
def test_blank_keeps_a_typed_value_replaces_and_remove_clears(world, login, caplog):
    ensure_registry(world)
    person = world.persons["A1M1"]
    gw = login("gw_a1")
    caplog.set_level(logging.DEBUG)

    kept = gw.post(f"/people/p/{person.pk}/edit/", _form_data(person, occupation="教师"))
    assert kept.status_code == 302
    person.refresh_from_db()
    assert (person.id_number, person.phone, person.occupation) == (ID_A1, PHONE_A1, "教师")
    assert list(PersonChange.objects.filter(person=person).latest("id").changes) == ["occupation"]

    typed = gw.post(f"/people/p/{person.pk}/edit/", _form_data(person, phone=NEW_PHONE))
    assert typed.status_code == 302
    person.refresh_from_db()
    assert person.phone == NEW_PHONE and person.id_number == ID_A1
    change = PersonChange.objects.filter(person=person).latest("id")
    assert change.changes == {"phone": ["136****0001", "137****5670"]}

    removed = gw.post(
        f"/people/p/{person.pk}/edit/", _form_data(person, phone="", phone_clear="on")
    )
    assert removed.status_code == 302
    person.refresh_from_db()
    assert person.phone == "" and person.id_number == ID_A1

    stored = _rows_text(AuditEvent, PersonChange)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for value in (ID_A1, PHONE_A1, NEW_PHONE):
        assert value not in stored, f"{value} stored in clear"
        assert value not in logged, f"{value} logged in clear"


@pytest.mark.django_db
def test_an_error_with_a_kept_id_does_not_put_it_in_the_page(world, login):
    ensure_registry(world)
    person = world.persons["A1M1"]  # a woman, by her ID number
    gw = login("gw_a1")
    wrong = gw.post(f"/people/p/{person.pk}/edit/", _form_data(person, sex="M"))
    text = html.unescape(wrong.content.decode())
    assert wrong.status_code == 400 and ID_A1 not in text and PHONE_A1 not in text
    assert "110***********002X" in text  # still shown masked beside the empty input
    person.refresh_from_db()
    assert person.sex == "F"


def test_a_kept_value_that_no_longer_passes_is_named_masked():
    """Stored values passed the same cleaning when saved; should a rule ever change,
    the message about a kept value must still not quote it in clear."""
    damaged = "110105194912310000"  # what Excel makes of an 18-digit number
    current = SimpleNamespace(id_number=damaged, phone=PHONE_A1, phone2="")
    form = PersonForm(
        {"name": "沈楼居", "id_type": "ric", "residency": "huji", "status": "present"},
        today=date(2026, 11, 23),
        current=current,
    )
    assert not form.is_valid()
    messages = " ".join(str(m) for errors in form.errors.values() for m in errors)
    assert damaged not in messages and "110***********0000" in messages


@pytest.mark.django_db
def test_adding_a_member_still_takes_the_id_and_phone_as_typed(world, login):
    ensure_registry(world)
    household = world.households["A1M1"]
    gw = login("gw_a1")
    form = gw.get(f"/people/h/{household.pk}/add/").content.decode()
    assert "id_number_clear" not in form and "phone_clear" not in form
    made = gw.post(
        f"/people/h/{household.pk}/add/",
        {
            "name": "沈新",
            "id_type": "ric",
            "id_number": "110101199003070054",
            "phone": "13712345671",
            "residency": "huji",
            "status": "present",
        },
    )
    assert made.status_code == 302
    assert Person.objects.get(name="沈新").phone == "13712345671"
