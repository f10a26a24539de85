"""Lab results by tube barcode, from a file (through the one upload pipeline, in any of
the layouts it reads: xlsx, old xls, csv in UTF-8 or GBK, a title row above the header)
or from the API.

Nothing is guessed. Each row is recorded or listed with its reason: an unknown barcode,
a tube of another round, a result word we do not know, a Ct value out of range, a
barcode twice in the file (same result: recorded once; different results: neither), a
result that differs from the one already recorded (kept, listed). The clean rows of a
file are recorded even when others are listed, because a positive must not wait for a
typo elsewhere (ADR 0020); sending the same file again records nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.tabular import Table, TableError, map_headers
from fangkong.core.uploads import UploadKind
from fangkong.org.roles import Perm
from fangkong.testing import recalls
from fangkong.testing.models import (
    Outcome,
    Result,
    ResultBatch,
    Round,
    Tube,
    TubeStatus,
)
from fangkong.testing.selectors import rounds_visible

RESULTS_UPLOAD = UploadKind("testing.results")
COLUMNS = {
    "barcode": ("条码", "试管条码", "管码", "样本编号", "样本条码", "tube", "tube barcode"),
    "result": ("结果", "检测结果", "核酸结果", "outcome"),
    "ct_orf": ("ORF1ab", "Ct ORF1ab", "ORF1ab Ct", "ORF1ab Ct值", "ORF1ab基因"),
    "ct_n": ("N", "Ct N", "N Ct", "N Ct值", "N基因"),
    "tested_at": ("检测时间", "报告时间", "时间", "time", "tested"),
}
WORDS = {
    "阴性": Outcome.NEGATIVE,
    "negative": Outcome.NEGATIVE,
    "neg": Outcome.NEGATIVE,
    "-": Outcome.NEGATIVE,
    "阳性": Outcome.POSITIVE,
    "positive": Outcome.POSITIVE,
    "pos": Outcome.POSITIVE,
    "+": Outcome.POSITIVE,
    "无效": Outcome.INVALID,
    "invalid": Outcome.INVALID,
    "重采": Outcome.INVALID,
}
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


@dataclass(frozen=True)
class ResultRow:
    row: int  # the spreadsheet's row number, or the API item's position from 1
    barcode: str
    result: str
    ct_orf: str = ""
    ct_n: str = ""
    tested_at: str = ""


@dataclass
class Problem:
    row: int
    barcode: str
    error: str


@dataclass
class Report:
    batch: ResultBatch | None = None
    rows: int = 0
    recorded: int = 0
    already: int = 0
    positives: list[str] = field(default_factory=list)
    recalled: int = 0
    problems: list[Problem] = field(default_factory=list)


def rows_of(table: Table) -> list[ResultRow]:
    """The table's rows as result rows; a file without a barcode or result column is
    refused as a whole (TableError), naming what is missing."""
    found = map_headers(table.headers, COLUMNS)
    missing = [name for name in ("barcode", "result") if name not in found]
    if missing:
        raise TableError(
            _("The file has no column for: %(names)s (headers: %(headers)s).")
            % {
                "names": ", ".join(missing),
                "headers": ", ".join(h for h in table.headers if h)[:200],
            }
        )

    def cell(cells: list[str], name: str) -> str:
        i = found.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    return [
        ResultRow(
            row=number,
            barcode=cell(cells, "barcode"),
            result=cell(cells, "result"),
            ct_orf=cell(cells, "ct_orf"),
            ct_n=cell(cells, "ct_n"),
            tested_at=cell(cells, "tested_at"),
        )
        for number, cells in table.rows
        if any(c.strip() for c in cells)
    ]


def _ct(text: str) -> Decimal | None:
    if not text or text in ("-", "/", "无"):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(
            _("A Ct value is a number such as 32.5, not “%(v)s”.") % {"v": text}
        ) from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(50):
        raise ValueError(_("A Ct value lies between 0 and 50."))
    return value.quantize(Decimal("0.1"))


def _when(text: str, now: datetime) -> datetime:
    if not text:
        return now
    for fmt in _FORMATS:
        try:
            moment = timezone.make_aware(datetime.strptime(text, fmt))  # noqa: DTZ007
        except ValueError:
            continue
        if moment > now + timedelta(minutes=10):
            raise ValueError(_("The test time is in the future."))
        if moment < now - timedelta(days=60):
            raise ValueError(_("The test time is more than 60 days ago."))
        return moment
    raise ValueError(_("Write the test time as 2022-07-10 14:30."))


@dataclass
class _Clean:
    row: ResultRow
    outcome: str
    ct_orf: Decimal | None
    ct_n: Decimal | None
    tested_at: datetime


def _clean(row: ResultRow, now: datetime) -> _Clean | str:
    barcode = row.barcode
    if not barcode:
        return _("No barcode.")
    if len(barcode) > 40 or not barcode.isascii() or not barcode.isalnum():
        return _("A tube barcode is letters and digits only, at most 40.")
    outcome = WORDS.get(row.result.strip().lower())
    if outcome is None:
        return _("Unknown result “%(r)s”: write 阴性, 阳性 or 无效.") % {"r": row.result[:20]}
    try:
        return _Clean(row, outcome, _ct(row.ct_orf), _ct(row.ct_n), _when(row.tested_at, now))
    except ValueError as e:
        return str(e)


def _same(a: _Clean, b: _Clean) -> bool:
    return (a.outcome, a.ct_orf, a.ct_n) == (b.outcome, b.ct_orf, b.ct_n)


def results_record(
    *,
    round_: Round,
    rows: list[ResultRow],
    actor: User | None,
    source: str,
    filename: str = "",
    sha256: str = "",
    now: datetime | None = None,
) -> Report:
    if actor is not None and not (
        rounds_visible(actor, Perm.TESTING_RESULTS).filter(pk=round_.pk).exists()
        or rounds_visible(actor, Perm.TESTING_MANAGE).filter(pk=round_.pk).exists()
    ):
        raise PermissionDenied
    now = now or timezone.now()
    with transaction.atomic():
        return _record(round_, rows, actor, source, filename, sha256, now)


def results_check(*, round_: Round, rows: list[ResultRow], actor: User) -> Report:
    """What recording these rows would do, without recording anything: the rows it
    would list and why (`problems`), and how many it would record (`recorded`). The
    lab's preview shows this before the lab confirms."""
    if not (
        rounds_visible(actor, Perm.TESTING_RESULTS).filter(pk=round_.pk).exists()
        or rounds_visible(actor, Perm.TESTING_MANAGE).filter(pk=round_.pk).exists()
    ):
        raise PermissionDenied
    report, fresh = _plan(round_, rows, timezone.now(), lock=False)
    report.recorded = len(fresh)
    return report


def _plan(
    round_: Round, rows: list[ResultRow], now: datetime, *, lock: bool
) -> tuple[Report, list[tuple[Tube, _Clean]]]:
    """The rows checked: the report with its problems, and the tubes to record."""
    report = Report(rows=len(rows))
    by_barcode: dict[str, list[_Clean]] = {}
    for row in rows:
        cleaned = _clean(row, now)
        if isinstance(cleaned, str):
            report.problems.append(Problem(row.row, row.barcode[:40], cleaned))
        else:
            by_barcode.setdefault(row.barcode, []).append(cleaned)
    found_tubes = Tube.objects.select_related("jurisdiction").filter(barcode__in=list(by_barcode))
    tubes = {t.barcode: t for t in (found_tubes.select_for_update() if lock else found_tubes)}
    recorded = {
        r.tube_id: r for r in Result.objects.filter(tube__in=[t.pk for t in tubes.values()])
    }
    fresh: list[tuple[Tube, _Clean]] = []
    for barcode, found in by_barcode.items():
        first = found[0]
        if any(not _same(first, other) for other in found[1:]):
            for c in found:
                report.problems.append(
                    Problem(
                        c.row.row,
                        barcode,
                        _("Different results for one tube in this file (rows %(rows)s).")
                        % {"rows": ", ".join(str(x.row.row) for x in found)},
                    )
                )
            continue
        for other in found[1:]:
            report.problems.append(
                Problem(
                    other.row.row,
                    barcode,
                    _("The same result again (row %(row)d): recorded once.")
                    % {"row": first.row.row},
                )
            )
        tube = tubes.get(barcode)
        if tube is None:
            report.problems.append(
                Problem(first.row.row, barcode, _("No tube with this barcode was sampled."))
            )
            continue
        if tube.round_id != round_.pk:
            report.problems.append(
                Problem(first.row.row, barcode, _("This tube belongs to another round."))
            )
            continue
        old = recorded.get(tube.pk)
        if old is not None:
            if (old.outcome, old.ct_orf, old.ct_n) == (first.outcome, first.ct_orf, first.ct_n):
                report.already += 1
            else:
                report.problems.append(
                    Problem(
                        first.row.row,
                        barcode,
                        _(
                            "Differs from the result recorded before (%(result)s): kept, ask the lab."
                        )
                        % {"result": Outcome(old.outcome).label},
                    )
                )
            continue
        fresh.append((tube, first))
    return report, fresh


def _record(
    round_: Round,
    rows: list[ResultRow],
    actor: User | None,
    source: str,
    filename: str,
    sha256: str,
    now: datetime,
) -> Report:
    report, fresh = _plan(round_, rows, now, lock=True)
    batch = ResultBatch.objects.create(
        round=round_,
        filename=filename[:255],
        sha256=sha256,
        source=source,
        rows=len(rows),
        recorded=len(fresh),
        problems=[{"row": p.row, "barcode": p.barcode, "error": p.error} for p in report.problems],
        sent_by=actor,
    )
    report.batch = batch
    Result.objects.bulk_create(
        [
            Result(
                tube=tube,
                barcode=tube.barcode,
                outcome=c.outcome,
                ct_orf=c.ct_orf,
                ct_n=c.ct_n,
                tested_at=c.tested_at,
                batch=batch,
            )
            for tube, c in fresh
        ],
        batch_size=2000,
    )
    # A tube with a result takes no more samples.
    Tube.objects.filter(pk__in=[t.pk for t, _c in fresh], status=TubeStatus.OPEN).update(
        status=TubeStatus.CLOSED, closed_at=now
    )
    for outcome in Outcome.values:
        Tube.objects.filter(pk__in=[t.pk for t, c in fresh if c.outcome == outcome]).update(
            outcome=outcome
        )
    report.recorded = len(fresh)
    _count_results(round_, fresh)
    for tube, c in fresh:
        _consequences(round_, tube, c.outcome, now, report)
    audit_record(
        action=AuditAction.IMPORT,
        actor=actor,
        actor_name="" if actor else "system",
        obj=batch,
        object_repr=f"results batch {batch.pk}: {report.recorded} recorded",
        jurisdiction_path=round_.jurisdiction.path,
        detail={
            "round": round_.pk,
            "rows": len(rows),
            "recorded": report.recorded,
            "problems": len(report.problems),
            "positives": report.positives,
        },
    )
    return report


def _count_results(round_: Round, fresh: list[tuple[Tube, _Clean]]) -> None:
    from django.db.models import Count

    from fangkong.testing.counts import counts_add
    from fangkong.testing.models import Sample

    positive = {t.pk for t, c in fresh if c.outcome == Outcome.POSITIVE}
    deltas: dict[int, list[int]] = {}
    rows = (
        Sample.objects.filter(tube_id__in=[t.pk for t, _c in fresh], recall=False)
        .values("jurisdiction_id", "tube_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for r in rows:
        values = deltas.setdefault(r["jurisdiction_id"], [0, 0, 0, 0, 0])
        values[3] += r["n"]
        values[4] += r["n"] if r["tube_id"] in positive else 0
    counts_add(round_.pk, deltas)


def _consequences(round_: Round, tube: Tube, outcome: str, now: datetime, report: Any) -> None:
    if tube.recall:
        recalls.recall_result(tube=tube, outcome=outcome)
        if outcome == Outcome.POSITIVE:
            report.positives.append(tube.barcode)
        return
    if outcome != Outcome.POSITIVE:
        return
    report.positives.append(tube.barcode)
    if tube.pool_size > 1:
        report.recalled += len(recalls.pool_positive(round_=round_, tube=tube, now=now))
    else:
        recalls.single_positive(round_=round_, tube=tube, now=now)
