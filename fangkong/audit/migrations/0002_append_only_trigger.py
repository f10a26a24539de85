"""On PostgreSQL, refuse UPDATE and DELETE on the audit log at the database level."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_auditevent_no_change ON audit_auditevent;
CREATE TRIGGER audit_auditevent_no_change
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_auditevent_no_change ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_append_only();
"""
SQLITE_CREATE = """
CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
SQLITE_DROP = """
DROP TRIGGER IF EXISTS audit_auditevent_no_update;
DROP TRIGGER IF EXISTS audit_auditevent_no_delete;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(CREATE)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE.strip().split(";\nCREATE"):
            sql = statement if statement.startswith("CREATE") else "CREATE" + statement
            schema_editor.execute(sql if sql.rstrip().endswith(";") else sql + ";")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(DROP)
    elif vendor == "sqlite":
        for sql in SQLITE_DROP.strip().splitlines():
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
