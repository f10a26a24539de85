"""Personal data: encrypted at rest, hashed for lookup, masked everywhere, audited."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.utils import translation
from openpyxl import load_workbook

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.core import crypto
from fangkong.core.logging import redact
from fangkong.core.masking import mask_id_number, mask_name, mask_phone
from fangkong.org.models import StaffProfile
from fangkong.org.services import staff_create
from tests.world import EXTRA_STAFF, PERSONAS

ID_NUMBER = "11010519491231002X"  # valid checksum (GB 11643 example)


def all_clear_values() -> list[str]:
    return (
        [spec[5] for spec in PERSONAS.values()]
        + [p for _n, p in EXTRA_STAFF.values()]
        + [ID_NUMBER]
    )


def dump_database() -> str:
    """Every row of every table as text, exactly as the database holds it."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_masks():
    assert mask_id_number("110105194912310021") == "110***********0021"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三") == "张*"
    assert mask_name("李小明") == "李*明"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_phone("") == ""


def test_encryption_roundtrip_and_tamper():
    token = crypto.encrypt("13812345678")
    assert token.startswith("v1:") and "13812345678" not in token
    assert crypto.encrypt("13812345678") != token  # fresh nonce every time
    assert crypto.decrypt(token) == "13812345678"
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tampered)


def test_blind_index_is_keyed():
    first = crypto.blind_index("13812345678")
    assert first == crypto.blind_index("13812345678")
    other_key = "A" * 43 + "="
    crypto._keys.cache_clear()
    with override_settings(FIELD_ENCRYPTION_KEY=other_key):
        assert crypto.blind_index("13812345678") != first
    crypto._keys.cache_clear()


def test_log_redaction_filter():
    text = f"lookup failed for {ID_NUMBER} / 13812345678 / 110105194912310021"
    out = redact(text)
    assert ID_NUMBER not in out and "13812345678" not in out and "110105194912310021" not in out
    assert "138****5678" in out and "110***********002X" in out


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("+86-138-1234-5678", "138****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        ("0571-88886666", "057*****6666"),
        ("(0571) 8888-6666", "(057*****6666"),
        ("433122 19800517 349x", "433***********349X"),
        ("433122800517349", "433********7349"),
        ("身份证433122198005173491，电话0571-8888666", "身份证433***********3491，电话057****8666"),
        ("2022-07-03 138 1234 5678", "2022-07-03 138****5678"),
        ("Tel13812345678", "Tel138****5678"),
        # Not personal data: left as typed.
        ("2022-07-03 10:30", "2022-07-03 10:30"),
        ("浦市村3组12号", "浦市村3组12号"),
        ("G1234 次列车", "G1234 次列车"),
    ],
)
def test_ids_and_phones_are_masked_however_they_are_typed(typed, shown):
    """A list's cells come in every shape; whatever shows one (a page, a log line) masks
    the IDs and phones in it, not only the plain 11- and 18-digit forms."""
    assert redact(typed) == shown


def test_what_a_whole_cell_holds():
    from fangkong.core.masking import personal_kind

    for value in ("13812345678", "138-1234-5678", "(0571)88886666", "+86 138 1234 5678"):
        assert personal_kind(value) == "phone", value
    for value in ("433122 19800517 349X", "433122800517349", "4.33122E+17"):
        assert personal_kind(value) == "id", value
    for value in ("张三", "2022-07-03", "12", "浦市村3组12号", "13812345678 张三", ""):
        assert personal_kind(value) == "", value


@pytest.mark.django_db
def test_no_clear_text_in_rows_logs_or_masked_exports(world, login):
    staff_create(
        username="with_id",
        name="韩身份",
        kind="other",
        jurisdiction=world.nodes["A1"],
        phone="13900000099",
        id_number=ID_NUMBER.lower(),
    )
    log_file = Path(settings.DATA_DIR) / "fangkong.log"
    log_start = log_file.stat().st_size if log_file.exists() else 0

    # Things that touch personal data: a failed login typed as a phone, a phone login,
    # a search, an API read, masked exports, and one audited unmasking.
    anon = Client()
    anon.post("/accounts/login/", {"username": "13800000003", "password": "wrong"})
    anon.post("/accounts/login/", {"username": "138 0000 0003", "password": "wrong"})
    logging.getLogger("fangkong.test").warning("looking up 13800000003 and %s", ID_NUMBER)
    try:
        raise ValueError(f"bad id {ID_NUMBER}")
    except ValueError:
        logging.getLogger("fangkong.test").exception("import failed")
    cadre = login("cadre_a")
    cadre.get("/org/staff/?q=13800000003")
    api = cadre.get("/api/v1/org/staff")
    assert b"13800000003" not in api.content and b"138****0003" in api.content
    exports = [body(cadre.get(f"/org/staff/export.{fmt}")) for fmt in ("csv", "xlsx")]
    commander = login("commander")
    exports += [body(commander.get(f"/org/staff/export.{fmt}")) for fmt in ("csv", "xlsx")]
    target = StaffProfile.objects.get(name="韩身份")
    unmasked = commander.post(f"/org/staff/{target.pk}/unmask/", {"purpose": "核对通讯录"})
    assert b"13900000099" in unmasked.content  # the one deliberate, audited disclosure

    db_text = dump_database()
    for value in all_clear_values():
        assert value not in db_text, f"{value} is stored in clear"
        assert value.lower() not in db_text
    log_text = log_file.read_text(encoding="utf-8")[log_start:] if log_file.exists() else ""
    assert "138****0003" in log_text  # the redacted line did reach the file
    for value in all_clear_values():
        assert value not in log_text, f"{value} reached the log"
    csv_text = exports[0].decode("utf-8-sig") + exports[2].decode("utf-8-sig")
    sheets = [load_workbook(io.BytesIO(x), read_only=True).active for x in (exports[1], exports[3])]
    xlsx_text = "\n".join(
        repr(list(r)) for s in sheets if s is not None for r in s.iter_rows(values_only=True)
    )
    for value in all_clear_values():
        assert value not in csv_text and value not in xlsx_text, f"{value} exported in clear"
    assert "110***********002X" in xlsx_text and "139****0099" in csv_text


@pytest.mark.django_db
def test_unmasked_export_needs_permission_purpose_and_is_audited(world, login):
    cadre = login("cadre_a")
    refused = cadre.get("/org/staff/export.csv?unmask=1")
    assert refused.status_code == 400
    response = cadre.get(
        "/org/staff/export.csv?unmask=1&purpose=%E6%A0%B8%E5%AF%B9%E5%90%8D%E5%8D%95"
    )
    rows = list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))
    phones = {r[0]: r[6] for r in rows[1:]}
    # Clear inside the cadre's village, and nothing from outside it at all.
    assert phones["陈红员"] == "13900000013"
    assert "卫光员" not in phones and "吴镇员" not in phones
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).latest("id")
    assert event.purpose == "核对名单" and event.detail["unmasked"] is True
    assert event.actor == world.users["cadre_a"]
    # A grid worker may unmask single records but not export at all.
    assert login("gw_a1").get("/org/staff/export.csv").status_code == 403


@pytest.mark.django_db
def test_unmask_is_per_record_with_purpose_and_audited(world, login):
    target = world.staff["A1"]
    gw = login("gw_a1")
    no_purpose = gw.post(f"/org/staff/{target.pk}/unmask/", {"purpose": ""})
    assert no_purpose.status_code == 400 and b"13900000013" not in no_purpose.content
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_PII).exists()
    ok = gw.post(f"/org/staff/{target.pk}/unmask/", {"purpose": "上门核实"}, REMOTE_ADDR="10.1.2.3")
    assert ok.status_code == 200 and b"13900000013" in ok.content
    event = AuditEvent.objects.get(action=AuditAction.VIEW_PII)
    assert (event.actor, event.purpose, event.object_id, event.ip) == (
        world.users["gw_a1"],
        "上门核实",
        str(target.pk),
        "10.1.2.3",
    )
    assert "陈红员" not in event.object_repr  # the log holds the masked name only
    # Outside the grid: the same 404 as a record that does not exist.
    other = world.staff["B1"]
    assert gw.post(f"/org/staff/{other.pk}/unmask/", {"purpose": "上门核实"}).status_code == 404
    assert gw.post("/org/staff/999999/unmask/", {"purpose": "上门核实"}).status_code == 404
    # The API route audits the same way.
    api = gw.post(
        f"/api/v1/org/staff/{target.pk}/unmask",
        data={"purpose": "电话随访"},
        content_type="application/json",
    )
    assert api.status_code == 200 and api.json()["phone"] == "13900000013"
    assert AuditEvent.objects.filter(action=AuditAction.VIEW_PII, purpose="电话随访").count() == 1
    # A volunteer has no unmask permission at all.
    vol = login("volunteer")
    assert vol.post(f"/org/staff/{target.pk}/unmask/", {"purpose": "看看"}).status_code == 403


@pytest.mark.django_db
def test_id_number_validation_and_normalisation(world):
    from django.core.exceptions import ValidationError

    fullwidth = "１１０１０５１９４９１２３１００２ｘ"
    profile = staff_create(
        username="fw", name="全角", kind="other", jurisdiction=world.nodes["A"], id_number=fullwidth
    )
    profile.refresh_from_db()
    assert profile.id_number == ID_NUMBER
    assert profile.id_number_masked == "110***********002X"
    for bad, word in [
        ("11010519491231002", "18"),
        ("110105194912310021", "check digit"),
        ("110105194902300020", "birth date"),
    ]:
        with pytest.raises(ValidationError) as err, translation.override("en"):
            staff_create(
                username=f"bad{bad[-3:]}",
                name="错",
                kind="other",
                jurisdiction=world.nodes["A"],
                id_number=bad,
            )
        assert word in str(err.value)
