"""Retention periods and the purge (PIPL Art. 19, 47).

The central test: a resident of 王店镇 (韩东居, the world's A2 resident) moved out two
months ago, past the 30 days residents who left are kept. Around them: their pushed-list
row, a returnee report naming their ID number, a work order about them with a photo, a
note and a comment, a notice and an SMS, an import job's report, an audit record of a
search for their ID number. After the purge, nothing anywhere — any table (encrypted
columns decrypted), the log records, an unmasked export — holds their full name, ID
number, phone or any of their keyed hashes; another resident (杨光居, B1) is untouched;
the counts, daily figures and bulletins are as they were.
"""

from __future__ import annotations

import csv
import json
import logging
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from fangkong.audit.models import AuditAction, AuditEvent
from fangkong.audit.services import audit_record, audit_redact
from fangkong.core.crypto import blind_index
from fangkong.core.search_terms import term_for_record
from fangkong.notify.models import Channel, ChannelKind, Delivery, DeliveryStatus, Notice
from fangkong.people.models import Household, ImportJob, ImportStatus, Person, PersonStatus
from fangkong.people.services import last4_key
from fangkong.reports.bulletin import bulletin_generate
from fangkong.reports.models import Bulletin, DailyReport, VillageDay
from fangkong.reports.stats import refresh_now
from fangkong.retention.models import PurgeRun, PurgeStatus, Purpose, RetentionRule
from fangkong.retention.scrub import Needles
from fangkong.retention.services import purge_plan, purge_run
from fangkong.screening.models import SweepVisit
from fangkong.screening.services import ReportInput, report_submit
from fangkong.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderPhoto
from fangkong.workorders.services import order_comment, tally_differences
from tests.world import (
    REGISTRY,
    World,
    ensure_orders,
    ensure_photos,
    ensure_pushed,
    ensure_registry,
    ensure_sweep,
)

pytestmark = pytest.mark.django_db


def _identifiers(name: str, id_number: str, phone: str) -> list[str]:
    return [
        name,
        id_number,
        phone,
        blind_index(id_number),
        blind_index(phone),
        last4_key(id_number) or "",
    ]


def _every_value() -> list[tuple[str, str]]:
    """(where, text) for every value of every row of every table: text and JSON as
    written, binary as bytes, encrypted columns decrypted through the key."""
    out: list[tuple[str, str]] = []
    for model in apps.get_models(include_auto_created=True):
        fields = list(model._meta.concrete_fields)
        names = [f.attname for f in fields]
        for row in model._base_manager.values_list(*names):
            for field, value in zip(fields, row, strict=True):
                if value is None:
                    continue
                if isinstance(value, (bytes, memoryview)):
                    text = bytes(value).decode("utf-8", "replace")
                elif isinstance(value, (dict, list)):
                    text = json.dumps(value, ensure_ascii=False)
                else:
                    text = str(value)
                out.append((f"{model._meta.label}.{field.name}", text))
    # And the raw rows, as the database holds them (hash columns, ciphertexts).
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            out.extend((table, repr(r)) for r in cursor.fetchall())
    return out


def _found(needles: list[str]) -> list[str]:
    return sorted(
        {f"{where}: {n}" for where, text in _every_value() for n in needles if n and n in text}
    )


def _aggregates() -> list[Any]:
    return [
        list(VillageDay.objects.order_by("pk").values_list("pk", "village_id", "day", "values")),
        list(DailyReport.objects.order_by("pk").values_list("pk", "values", "status")),
        [
            (b.pk, b.summary, bytes(b.docx), bytes(b.xlsx), b.version)
            for b in Bulletin.objects.order_by("pk")
        ],
    ]


def _export(world: World, path: Any) -> None:
    code = world.nodes["T"].code
    call_command(
        "export",
        "people",
        "--jurisdiction",
        code,
        "-o",
        str(path),
        "--unmask",
        "--purpose",
        "核对名单",
    )


def _long_ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def _scene(world: World) -> dict[str, Any]:
    """The resident who left, everything about them, and a resident who stays."""
    ensure_registry(world)
    ensure_orders(world)
    ensure_photos(world)
    ensure_pushed(world)
    ensure_sweep(world)
    name, id_number, phone = REGISTRY["A2"][1:]
    gone = world.persons["A2"]
    stays = world.persons["B1"]
    report, _created = report_submit(
        ReportInput(
            name=name,
            id_number=id_number,
            phone=phone,
            origin_code="310115005",
            left_on=timezone.localdate() - timedelta(days=4),
            arrived_on=timezone.localdate() - timedelta(days=3),
            mode="car",
            vehicle="浙F12345",
            jurisdiction=world.nodes["A2"],
            address=f"{name}家",
        )
    )
    order = world.orders["A2"]
    WorkOrder.objects.filter(pk=order.pk).update(note=f"打{phone}联系{name}")
    order_comment(order_id=order.pk, actor=world.users["commander"], text=f"{name}已搬走")
    Notice.objects.create(
        user=world.users["commander"], title="逾期工单", body=f"核实人员：{name}（{phone}）"
    )
    Notice.objects.create(user=world.users["cadre_a"], title="旧通知", body=f"{name}")
    Notice.objects.filter(title="旧通知").update(created_at=_long_ago(100))
    channel = Channel.objects.create(key="sms-test", name="短信", kind=ChannelKind.CONSOLE)
    Delivery.objects.create(
        channel=channel,
        recipient=phone,
        recipient_label="136****0002",
        title="通知",
        body=f"{name}您好",
        key="sms:1",
        status=DeliveryStatus.SENT,
        next_try_at=timezone.now(),
    )
    ImportJob.objects.create(
        owner=world.users["cadre_a"],
        filename="名单.csv",
        status=ImportStatus.PREVIEW,
        confirmations=[{"row": 2, "name": name, "person_id": gone.pk, "score": 0.9}],
        errors=[{"row": 3, "column": "B", "value": "136****0002", "message": f"{name}重复"}],
    )
    audit_record(
        action=AuditAction.EXPORT,
        actor=world.users["commander"],
        object_repr="person list",
        purpose="核对名单",
        detail={"rows": 1, **term_for_record(id_number)},
    )
    visit = SweepVisit.objects.get(sweep=world.sweep, household=world.households["A2"])
    SweepVisit.objects.filter(pk=visit.pk).update(
        answers={"household": {"fever": False}, str(gone.pk): {"where": f"{name}去了外地"}}
    )
    refresh_now()
    bulletin_generate(node=world.nodes["T"], day=timezone.localdate())
    Person.objects.filter(pk=gone.pk).update(
        status=PersonStatus.MOVED_OUT, updated_at=_long_ago(60)
    )
    return {
        "gone": gone,
        "stays": stays,
        "report": report,
        "needles": _identifiers(name, id_number, phone),
        "kept": _identifiers(*REGISTRY["B1"][1:]),
    }


def test_a_purged_resident_survives_nowhere(world, login, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    scene = _scene(world)
    needles = scene["needles"]
    # The search is sound: before, they are all over the database.
    before = _found(needles)
    assert len(before) > 10
    # No one else shares their last-4 hash (so finding it later would be theirs).
    assert Person.objects.filter(id_last4_hash=needles[5]).count() == 1
    aggregates = _aggregates()
    export = tmp_path / "before.csv"
    _export(world, export)
    assert needles[1] in export.read_text(encoding="utf-8-sig")

    # A dry run counts and changes nothing.
    dry = purge_run(actor_name="test", dry_run=True)
    assert dry.counts["residents_left"] == 1 and dry.counts["messages"] == 1  # the old notice
    assert dry.total == 2
    assert _found(needles) == before

    run = purge_run(actor_name="test")

    assert run.status == PurgeStatus.DONE and run.counts["residents_left"] == 1
    assert run.detail["returnee_reports"] == 1 and run.detail["pushed_rows"] == 1
    assert run.detail["photos_deleted"] == 1 and run.detail["audit_records_redacted"] == 1
    assert _found(needles) == []
    gone = Person.objects.get(pk=scene["gone"].pk)
    assert (gone.name, gone.id_number, gone.phone, gone.id_number_hash) == ("韩*", "", "", None)
    assert gone.status == PersonStatus.MOVED_OUT and gone.birth_date == scene["gone"].birth_date
    # What stays about them says less: masked and surname only.
    order = WorkOrder.objects.get(pk=world.orders["A2"].pk)
    assert order.subject_label == "韩*" and order.note == "" and order.status == "assigned"
    assert not WorkOrderPhoto.objects.filter(order=order).exists()
    assert set(WorkOrderEvent.objects.filter(order=order).values_list("note", flat=True)) == {""}
    visit = SweepVisit.objects.get(sweep=world.sweep, household=world.households["A2"])
    assert visit.answers == {"household": {"fever": False}}
    notice = Notice.objects.get(title="逾期工单")
    assert notice.body == "核实人员：韩*（136****0002）"
    assert not Notice.objects.filter(title="旧通知").exists()  # past its 90 days
    export_event = AuditEvent.objects.filter(purpose="核对名单").order_by("pk").first()
    assert export_event is not None and "q_hash" in export_event.detail
    assert export_event.detail["q_hash"] == "" and export_event.detail["q"].startswith("110")
    # The purge report is kept and audited, in numbers only.
    purge_event = AuditEvent.objects.get(object_type="retention.purgerun", object_id=str(run.pk))
    assert purge_event.action == AuditAction.DELETE
    assert purge_event.detail["counts"]["residents_left"] == 1

    # Their pages still open, showing what is left.
    commander = login("commander")
    page = commander.get(reverse("people:person_detail", args=[gone.pk])).content.decode()
    assert "韩*" in page and "retention: anonymised" in page
    task = commander.get(reverse("workorders:task", args=[order.pk]))
    assert task.status_code == 200 and "韩*" in task.content.decode()

    # Nobody else was touched, and nothing counted changed.
    assert _found(scene["kept"]) and len(_found(scene["kept"])) > 5
    stays = Person.objects.get(pk=scene["stays"].pk)
    assert (stays.name, stays.id_number) == REGISTRY["B1"][1:3]
    assert _aggregates() == aggregates
    assert tally_differences() == []

    # Not in an export made after, nor in anything logged.
    export = tmp_path / "after.csv"
    _export(world, export)
    rows = list(csv.reader(export.open(encoding="utf-8-sig")))
    assert any("韩*" in row for row in rows)
    assert not [n for n in needles if n in export.read_text(encoding="utf-8-sig")]
    logged = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {getattr(r, 'args', '')}" for r in caplog.records
    )
    assert not [n for n in needles if n in logged]

    # Run again: nothing is left to take.
    again = purge_run(actor_name="test")
    assert again.total == 0 and again.status == PurgeStatus.DONE


def test_after_the_epidemics_end_the_registry_goes_and_the_counts_stay(world):
    ensure_orders(world)
    ensure_pushed(world)
    Household.objects.filter(pk=world.households["A2"].pk).update(
        landlord_name="房东甲",
        landlord_phone="13700000009",
        landlord_phone_hash=blind_index("13700000009"),
    )
    refresh_now()
    aggregates = _aggregates()
    everyone = [v for key in REGISTRY for v in _identifiers(*REGISTRY[key][1:])]
    # The end is declared: not yet 30 days ago, nothing of the registry goes.
    Purpose.objects.update_or_create(
        pk=1, defaults={"ended_on": timezone.localdate() - timedelta(days=10)}
    )
    assert purge_plan()["residents"] == 0
    Purpose.objects.filter(pk=1).update(ended_on=timezone.localdate() - timedelta(days=31))
    assert purge_plan()["residents"] == len(REGISTRY) + 1  # and the landlord

    run = purge_run(actor_name="test")

    assert run.status == PurgeStatus.DONE
    assert _found([*everyone, "房东甲", "13700000009", blind_index("13700000009")]) == []
    assert not Person.objects.filter(id_number_hash__isnull=False).exists()
    assert Household.objects.get(pk=world.households["A2"].pk).landlord_name == "房*"
    assert Person.objects.count() == len(REGISTRY)  # anonymised, still counted
    assert _aggregates() == aggregates and tally_differences() == []


def test_periods_are_data_and_the_purge_runs_every_night(world):
    from fangkong.core.management.commands.jobs import run_queued
    from fangkong.core.schedule import PERIODIC, tick

    assert RetentionRule.objects.get(kind="residents_left").days == 30
    assert PERIODIC["retention.purge"].daily_at == time(3, 0)
    night = timezone.make_aware(datetime.combine(timezone.localdate(), time(3, 30)))
    assert "retention.purge" in tick(now=night)
    run_queued()
    assert PurgeRun.objects.filter(actor_name="job:retention.purge", status="done").count() == 1


def test_the_purge_command_dry_run(world, capsys):
    ensure_registry(world)
    Person.objects.filter(pk=world.persons["B1"].pk).update(
        status=PersonStatus.DECEASED, updated_at=_long_ago(31)
    )
    call_command("purge", "--dry-run")
    out = capsys.readouterr().out
    assert "Dry run: would purge 1 records" in out and "residents_left" in out
    assert Person.objects.get(pk=world.persons["B1"].pk).id_number == REGISTRY["B1"][2]
    call_command("purge")
    assert Person.objects.get(pk=world.persons["B1"].pk).id_number == ""
    assert PurgeRun.objects.filter(dry_run=False).count() == 1


def test_only_a_manager_of_the_whole_tree_changes_the_periods(world, login):
    url = reverse("retention:rules")
    page = login("commander").get(url)
    assert page.status_code == 200 and 'name="days_residents"' not in page.content.decode()
    data = {f"days_{r.kind}": r.days for r in RetentionRule.objects.all()}
    refused = login("commander").post(url, {**data, "days_messages": 5})
    assert refused.status_code == 403
    assert RetentionRule.objects.get(kind="messages").days == 90
    assert login("gw_a1").get(url).status_code == 403

    county = login("county")
    county.cookies["django_language"] = "en"
    assert 'name="days_residents"' in county.get(url + "?plan=1").content.decode()
    saved = county.post(url, {**data, "days_messages": 60})
    assert saved.status_code == 302 and RetentionRule.objects.get(kind="messages").days == 60
    event = AuditEvent.objects.get(object_repr="retention periods")
    assert event.detail["before"] == {"messages": 90} and event.detail["after"] == {"messages": 60}
    # Bad input: which field and why, and nothing changes.
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    bad = county.post(url, {**data, "days_messages": 0, "ended_on": tomorrow})
    assert bad.status_code == 400
    assert RetentionRule.objects.get(kind="messages").days == 60
    assert "greater than or equal to 1" in bad.content.decode()
    future = county.post(url, {**data, "ended_on": tomorrow})
    assert future.status_code == 400 and "cannot be in the future" in future.content.decode()
    assert Purpose.objects.get(pk=1).ended_on is None


def test_scrubbing_replaces_longest_first():
    needles = Needles()
    needles.add_name("韩东居")
    needles.add_id_number("110101199003070011")
    needles.add_phone("13600000002")
    needles.add_hash("a" * 64)
    text = "韩东居 110101199003070011 13600000002 " + "a" * 64
    assert needles.scrub_text(text) == "韩* 110***********0011 136****0002 "
    assert needles.scrub({"韩东居": ["13600000002"]}) == {"韩*": ["136****0002"]}
    assert needles.scrub_text("无关内容") == "无关内容"


def test_audit_redaction_changes_only_the_detail(world):
    event = audit_record(
        action=AuditAction.EXPORT,
        actor=world.users["commander"],
        purpose="核对",
        detail={"q_hash": "x"},
    )
    assert audit_redact(events=[event], redact=lambda d: {**d, "q_hash": ""}) == 1
    event.refresh_from_db()
    assert event.detail == {"q_hash": ""} and event.purpose == "核对"
    if connection.vendor != "postgresql":
        return
    table = AuditEvent._meta.db_table
    # Without declaring it, or changing anything but the detail, the database refuses.
    for sql, flag in (
        (f"UPDATE {table} SET detail = '{{}}'", False),  # noqa: S608
        (f"UPDATE {table} SET purpose = 'x'", True),  # noqa: S608
        (f"DELETE FROM {table}", True),  # noqa: S608
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            if flag:
                cursor.execute("SET LOCAL fangkong.audit_redaction = 'on'")
            cursor.execute(sql)
    event.refresh_from_db()
    assert event.detail == {"q_hash": ""} and event.purpose == "核对"
