"""The public returnee form for real residents (issue 13): an older resident's ID number
is taken; a shared network (a village office, a family's Wi-Fi, a carrier's address) is
limited loosely and by accepted reports only, the one sending tightly by phone and ID;
required choices start empty and say they are required; each error sits at its field;
phone and ID open the right keypad; no staff footer. What the browser does with it (the
focus, the sizes) is in test_browser_public_form.py."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from fangkong.core.identity import check_character
from fangkong.screening.models import PublicHit, ReturneeReport
from fangkong.workorders.models import WorkOrder
from tests.test_screening_reports import _form, _local_edition_now

pytestmark = pytest.mark.django_db
STAFF_NOTE = "Personal data is masked; every unmasking and export is audited."
OFFICE = "203.0.113.7"  # the village office's Wi-Fi, behind one address


@pytest.fixture
def risky_now(world):
    """Rules in force today, with 陆家嘴街道 (the form's default origin) high-risk."""
    from fangkong.policy.models import RiskArea

    _local_edition_now(world)
    RiskArea.objects.create(
        code="310115005",
        name="上海市浦东新区陆家嘴街道",
        level="high",
        effective_from=timezone.localdate() - timedelta(days=5),
    )


@pytest.fixture
def client(login):
    anonymous = login("anonymous")
    anonymous.cookies["django_language"] = "en"
    return anonymous


def household(i: int) -> dict[str, str]:
    """The i-th household's own ID number (older residents: born 1940-1979 in a county
    coded in 1983) and phone."""
    body = f"330411{1940 + i % 40:04d}0315{i:03d}"
    return {"id_number": body + check_character(body), "phone": f"1365800{i:04d}"}


def post(client, village, address=OFFICE, **changes):
    return client.post(f"/r/{village.code}/", _form(village, **changes), REMOTE_ADDR=address)


# The ID rule on the form -----------------------------------------------------------------


@pytest.mark.parametrize("number", ["310115198001011238", "330411195803151217"])
def test_an_older_resident_s_number_is_taken(world, client, risky_now, number):
    done = post(client, world.nodes["A"], id_number=number)
    assert done.status_code == 200, done.context["form"].errors
    report = ReturneeReport.objects.get()
    assert report.id_number == number and report.code in done.content.decode()


def test_an_unusual_number_is_taken_and_the_answer_says_what_to_check(world, client, risky_now):
    body = "11010320150101001"  # 崇文区's code, retired in 2010
    done = post(client, world.nodes["A"], id_number=body + check_character(body))
    page = html.unescape(done.content.decode())
    assert done.status_code == 200 and 'id="fk-report-warning"' in page and "崇文区" in page
    assert ReturneeReport.objects.count() == 1


def test_a_number_with_a_region_that_never_existed_is_refused_at_its_field(world, client):
    body = "99999919800101001"
    refused = post(client, world.nodes["A"], id_number=body + check_character(body))
    assert refused.status_code == 400
    assert "first 6 digits" in " ".join(refused.context["form"].errors["id_number"])
    assert not ReturneeReport.objects.exists()


# Limits ------------------------------------------------------------------------------------


def test_25_households_behind_one_address_all_get_through(world, client, risky_now, frozen_clock):
    """A village office helps 25 households, one after another; every household makes a
    mistake or two first (a phone digit short, the date of leaving after the arrival)."""
    village = world.nodes["A"]
    today = timezone.localdate()
    for i in range(25):
        mine = household(i)
        short = post(client, village, **{**mine, "phone": mine["phone"][:-1]})
        assert short.status_code == 400, i
        late = post(client, village, **mine, left_on=str(today + timedelta(days=1)))
        assert late.status_code == 400, i
        done = post(client, village, **mine)
        assert done.status_code == 200, (i, done.status_code)
    assert ReturneeReport.objects.count() == 25
    assert WorkOrder.objects.filter(kind="verify_returnee").count() == 25


def test_one_phone_sending_again_and_again_is_stopped(world, client, risky_now, frozen_clock):
    village = world.nodes["A"]
    spam = "13658009999"
    statuses = [
        post(client, village, address=f"198.51.100.{i}", **{**household(i), "phone": spam})
        for i in range(12)
    ]
    # A family reporting with one phone after a few corrections fits; a script does not,
    # from however many addresses it sends.
    assert [s.status_code for s in statuses] == [200] * 10 + [429] * 2
    assert ReturneeReport.objects.count() == 10
    refused = statuses[-1]
    assert "phone number or ID number" in html.unescape(refused.content.decode())
    assert 0 < int(refused["Retry-After"]) <= 600
    # Someone else on the same network is not held up.
    assert post(client, village, address="198.51.100.1", **household(50)).status_code == 200


def test_one_id_number_sent_again_and_again_is_stopped(world, client, risky_now, frozen_clock):
    village, mine = world.nodes["A"], household(1)
    statuses = [
        post(client, village, **{**mine, "phone": f"1390000{i:04d}"}).status_code for i in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_refused_posts_do_not_count_against_the_network(world, client, risky_now, frozen_clock):
    village = world.nodes["A"]
    for i in range(40):  # mistakes, each by another household
        assert post(client, village, **{**household(i), "phone": "123"}).status_code == 400
    for i in range(30):
        assert post(client, village, **household(i)).status_code == 200, i
    assert post(client, village, **household(30)).status_code == 429
    # The village's own flood guard still counts every post.
    assert PublicHit.objects.get(key__startswith="report:village:").count == 71


def test_the_honeypot_still_refuses_a_bot(world, client, risky_now):
    refused = post(client, world.nodes["A"], website="http://spam.example")
    assert refused.status_code == 400 and not ReturneeReport.objects.exists()


def test_a_village_office_can_look_up_its_residents_reports(world, client, risky_now, frozen_clock):
    village = world.nodes["A"]
    codes = []
    for i in range(20):
        post(client, village, **household(i))
        codes.append((ReturneeReport.objects.latest("id").code, household(i)["phone"]))
    for code, phone in codes:
        found = client.post("/r/status/", {"code": code, "phone": phone}, REMOTE_ADDR=OFFICE)
        assert found.status_code == 200
    # Guessing from one network is still stopped.
    statuses = [
        client.post(
            "/r/status/", {"code": f"AAAA{i:04d}", "phone": "13900000000"}, REMOTE_ADDR=OFFICE
        ).status_code
        for i in range(11)
    ]
    assert statuses == [404] * 10 + [429]


# The form ------------------------------------------------------------------------------------


def _tag(page: str, element_id: str) -> str:
    match = re.search(rf"<(?:input|select)[^>]*\bid=\"{element_id}\"[^>]*>", page)
    assert match, element_id
    return match.group(0)


def test_required_choices_start_empty_and_are_marked(world, client):
    page = client.get(f"/r/{world.nodes['A'].code}/").content.decode()
    for name in ("mode", "vaccination"):
        select = re.search(rf'<select name="{name}".*?</select>', page, re.S)
        assert select, name
        assert "required" in select.group(0).split(">")[0], name
        # Nothing is chosen for them: the only option selected is the empty "Choose".
        assert re.findall(r'<option value="([^"]*)" selected>', select.group(0)) == [""], name
        assert '<option value="" selected>Choose</option>' in select.group(0), name
    form = client.post(
        f"/r/{world.nodes['A'].code}/", _form(world.nodes["A"], mode="", vaccination="")
    )
    assert form.status_code == 400
    assert {"mode", "vaccination"} <= set(form.context["form"].errors)


def test_the_vehicle_field_says_when_it_is_required(world, client):
    village = world.nodes["A"]
    page = client.get(f"/r/{village.code}/").content.decode()
    assert "Needed if you came by car, train or plane." in page
    assert 'data-fk-needed-for="car train flight"' in _tag(page, "id_vehicle")
    assert "data-fk-needed-marker hidden" in page  # no way of travel chosen yet
    train = client.post(f"/r/{village.code}/", _form(village, mode="train", vehicle=""))
    body = train.content.decode()
    assert train.status_code == 400 and "data-fk-needed-marker>" in body


def test_each_error_sits_at_its_field_and_is_tied_to_it(world, client):
    village = world.nodes["A"]
    response = client.post(f"/r/{village.code}/", _form(village, phone="12345", county=""))
    page = response.content.decode()
    assert response.status_code == 400
    assert "Please correct the fields marked below" not in page  # no banner far above
    for name in ("phone", "county"):
        tag = _tag(page, f"id_{name}")
        assert 'aria-invalid="true"' in tag and f"id_{name}_error" in tag, tag
        error = re.search(rf'<div class="invalid-feedback[^"]*" id="id_{name}_error">', page)
        assert error, name
        # The message comes right before its field, not in a banner.
        assert page.index(f'id="id_{name}_error"') < page.index(f'id="id_{name}"')


def test_phone_and_id_fields_open_the_right_keypad(world, client):
    page = client.get(f"/r/{world.nodes['A'].code}/").content.decode()
    id_number, phone = _tag(page, "id_id_number"), _tag(page, "id_phone")
    assert 'inputmode="numeric"' in id_number and 'autocomplete="off"' in id_number
    assert 'type="tel"' in phone and 'inputmode="tel"' in phone and 'autocomplete="tel"' in phone
    assert "data-fk-add-x" in page  # the numeric keypad has no X
    status = client.get("/r/status/").content.decode()
    assert 'inputmode="tel"' in _tag(status, "id_phone")


def test_no_staff_footer_on_the_public_pages(world, client, risky_now, login):
    village = world.nodes["A"]
    pages = {
        "form": client.get(f"/r/{village.code}/"),
        "done": post(client, village),
        "status": client.get("/r/status/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert STAFF_NOTE not in response.content.decode(), name
        assert 'id="fk-lang"' in response.content.decode(), name  # the language stays
    staff = login("commander")
    staff.cookies["django_language"] = "en"
    assert STAFF_NOTE in staff.get("/").content.decode()
