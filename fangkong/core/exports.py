"""HTTP responses for spreadsheet exports: csv streamed row by row, xlsx spooled to disk."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from fangkong.core.tabular import csv_stream, write_xlsx

# Past this size the xlsx goes to a temporary file instead of memory.
_SPOOL_BYTES = 8 * 1024 * 1024


def export_response(
    fmt: str, basename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponseBase:
    filename = f"{basename}-{timezone.localdate().isoformat()}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_stream(header, rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - FileResponse closes it
    write_xlsx(spool, header, rows)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename)
