"""A trigram index for "address contains ..." on PostgreSQL.

A B-tree cannot serve a substring search, so at a million persons the address filter
scanned every household (126 ms). pg_trgm indexes CJK characters under the server's
C.UTF-8/UTF-8 locales, so a GIN trigram index serves `LIKE '%...%'`. SQLite has no
equivalent and does not need one at a town's size; the migration does nothing there.
"""

from typing import Any

from django.db import migrations

INDEX = "people_household_address_trgm"


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON people_household USING gin (address gin_trgm_ops)"
    )


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("people", "0003_person_list_index_null_hashes")]

    operations = [migrations.RunPython(forwards, backwards)]
