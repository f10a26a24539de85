"""Run inside a `tests.procs.Site` (`site.python("tests.site_support", ...)`): what the
backup and crash tests need done or read with Django against that site's database.

    seed-files           a work-order photo and a held upload (bytes in the database)
    prepare-bulletins    every town's report deadline at midnight, today's bulletins gone
                         and the bulletin job queued: it has today's to make
    digest [--audit-upto ID]
                         every table's row count and a digest of its rows in key order,
                         and digests of the decrypted personal data, as JSON
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import uuid
from typing import Any


def _setup() -> None:
    import django

    django.setup()


def seed_files() -> dict[str, Any]:
    from PIL import Image

    from fangkong.core import uploads
    from fangkong.core.uploads import UploadKind
    from fangkong.workorders.models import OPEN_STATUSES, WorkOrder
    from fangkong.workorders.photos import photo_add

    order = (
        WorkOrder.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=False)
        .order_by("pk")
        .first()
    )
    assert order is not None and order.assignee is not None
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    photo, _created = photo_add(
        order_id=order.pk, actor=order.assignee, raw=buffer.getvalue(), client_id=uuid.uuid4()
    )
    received = uploads.receive_bytes(
        "物资,数量\n口罩,100\n".encode(), "held.csv", UploadKind("test")
    )
    upload = uploads.stage(owner=order.assignee, received=received)
    return {
        "photo": photo.pk,
        "photo_sha256": hashlib.sha256(bytes(photo.data)).hexdigest(),
        "upload": upload.pk,
    }


def prepare_bulletins() -> dict[str, Any]:
    from datetime import time

    from django.utils import timezone

    from fangkong.org.models import Jurisdiction, Level
    from fangkong.reports.models import Bulletin, ReportConfig

    towns = list(Jurisdiction.objects.filter(level=Level.TOWN))
    for town in towns:
        ReportConfig.objects.update_or_create(jurisdiction=town, defaults={"deadline": time(0)})
    Bulletin.objects.filter(day=timezone.localdate()).delete()
    from fangkong.reports.tasks import bulletins_task

    result = bulletins_task.enqueue()
    return {
        "towns": [t.code for t in towns],
        "day": timezone.localdate().isoformat(),
        "task": str(result.id),
    }


def _row_bytes(row: tuple[Any, ...]) -> bytes:
    return repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)).encode()


def digest(audit_upto: int | None) -> dict[str, list[Any]]:
    from django.db import connection

    from fangkong.notify.models import Channel, Delivery
    from fangkong.org.models import StaffProfile
    from fangkong.people.models import Household, Person
    from fangkong.retention.backup import EXCLUDED_TABLES
    from fangkong.screening.models import PushedRow, ReturneeReport

    out: dict[str, list[Any]] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table in EXCLUDED_TABLES:
                continue
            key = connection.introspection.get_primary_key_column(cursor, table) or "id"
            where = ""
            if table == "audit_auditevent" and audit_upto is not None:
                where = f" WHERE id <= {int(audit_upto)}"
            cursor.execute(f"SELECT * FROM {quote(table)}{where} ORDER BY {quote(key)}")  # noqa: S608
            rows = cursor.fetchall()
            h = hashlib.sha256()
            for row in rows:
                h.update(_row_bytes(row))
            out[table] = [len(rows), h.hexdigest()]
    # The clear values behind the ciphertexts, read through the key.
    decrypted: dict[str, tuple[Any, list[str]]] = {
        "people.person": (Person, ["id_number", "phone", "phone2"]),
        "people.household": (Household, ["landlord_phone"]),
        "org.staffprofile": (StaffProfile, ["phone", "id_number"]),
        "screening.returneereport": (ReturneeReport, ["id_number", "phone"]),
        "screening.pushedrow": (PushedRow, ["cells"]),
        "notify.delivery": (Delivery, ["recipient"]),
        "notify.channel": (Channel, ["secret"]),
    }
    for label, (model, fields) in decrypted.items():
        h = hashlib.sha256()
        values = list(model.objects.order_by("pk").values_list("pk", *fields))
        for row in values:
            h.update(repr(row).encode())
        out[f"decrypted:{label}"] = [
            sum(1 for row in values for v in row[1:] if v),
            h.hexdigest(),
        ]
    return out


def main(argv: list[str]) -> int:
    _setup()
    command = argv[0]
    if command == "seed-files":
        print(json.dumps(seed_files()))  # noqa: T201
    elif command == "prepare-bulletins":
        print(json.dumps(prepare_bulletins()))  # noqa: T201
    elif command == "digest":
        upto = int(argv[2]) if len(argv) > 2 and argv[1] == "--audit-upto" else None
        print(json.dumps(digest(upto), ensure_ascii=False))  # noqa: T201
    else:
        print(__doc__, file=sys.stderr)  # noqa: T201
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
