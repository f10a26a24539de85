"""On PostgreSQL, let the retention purge redact an audit record's `detail`, and nothing
else, inside a transaction that says so (`SET LOCAL fangkong.audit_redaction = 'on'`,
see `audit.services.audit_redact` and ADR 0013). Every other UPDATE, and every DELETE,
is still refused."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('fangkong.audit_redaction', true) = 'on'
       AND ROW(NEW.id, NEW.at, NEW.actor_id, NEW.actor_name, NEW.ip, NEW.action,
               NEW.object_type, NEW.object_id, NEW.object_repr, NEW.jurisdiction_path,
               NEW.purpose)
           IS NOT DISTINCT FROM
           ROW(OLD.id, OLD.at, OLD.actor_id, OLD.actor_name, OLD.ip, OLD.action,
               OLD.object_type, OLD.object_id, OLD.object_repr, OLD.jurisdiction_path,
               OLD.purpose)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
"""
STRICT = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STRICT)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]
    operations = [migrations.RunPython(forwards, backwards)]
