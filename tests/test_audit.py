"""The audit log is append-only, at the model, queryset and database levels."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from fangkong.audit.models import AppendOnlyError, AuditAction, AuditEvent
from fangkong.audit.services import audit_record


@pytest.mark.django_db
def test_append_only_everywhere(world):
    event = audit_record(action=AuditAction.EXPORT, actor=world.users["commander"], purpose="x")
    event.purpose = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(purpose="changed")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).purpose == "x"


@pytest.mark.django_db
def test_database_refuses_changes_on_postgresql(world):
    if connection.vendor != "postgresql":
        pytest.skip("the database-level trigger is installed on PostgreSQL only")
    event = audit_record(action=AuditAction.EXPORT, actor=world.users["commander"], purpose="x")
    table = AuditEvent._meta.db_table
    for sql in (f"UPDATE {table} SET purpose = 'changed'", f"DELETE FROM {table}"):  # noqa: S608
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.get(pk=event.pk).purpose == "x"


@pytest.mark.django_db
def test_auditor_browses_the_log_of_their_scope(world, login):
    audit_record(action=AuditAction.EXPORT, actor=world.users["gw_a1"], purpose="名单核对")
    audit_record(action=AuditAction.VIEW_PII, actor=world.users["cadre_a"], purpose="电话随访")
    page = login("auditor").get("/audit/?action=view_pii")
    text = page.content.decode()
    assert page.status_code == 200 and "电话随访" in text and "名单核对" not in text
    # Nobody else may browse it, the commander included.
    for persona in ("commander", "cadre_a", "gw_a1"):
        assert login(persona).get("/audit/").status_code == 403
    api = login("auditor").get("/api/v1/audit/events?action=export")
    assert [e["purpose"] for e in api.json()] == ["名单核对"]
