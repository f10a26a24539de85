"""A trigram full-text index for "address contains ..." on SQLite.

PostgreSQL has pg_trgm (0004). On SQLite a substring LIKE reads every household: at a
county's million persons (333,333 households) that is hundreds of milliseconds a page.
FTS5's trigram tokenizer (SQLite 3.34+) answers a substring of three or more
characters from an index. The index is an external-content FTS5 table over
people_household (it stores no second copy of the addresses) kept in step by triggers
created here: they also see the import's bulk statements and raw SQL, which model
signals would not. SQLite drops a table's triggers when Django remakes the table for a
later schema change; tests/test_address_search.py fails if they are missing.
PostgreSQL and an SQLite without FTS5 trigram: nothing happens, and the search falls
back to LIKE (people.selectors.address_q).
"""

from typing import Any

from django.db import migrations

TABLE = "people_household_address_fts"
TRIGGERS = ("people_household_fts_ai", "people_household_fts_ad", "people_household_fts_au")


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    from fangkong.people.address_search import create_sqlite_index

    create_sqlite_index(schema_editor.connection)


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for trigger in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("people", "0006_import_mapping_kind_job_options")]

    operations = [migrations.RunPython(forwards, backwards)]
