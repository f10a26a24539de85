"""The bulletin as documents: a .docx laid out like an official notice (仿宋 body, 黑体
headings, a bordered table in 宋体) and an .xlsx with the same numbers as numbers.

Both are always written in the default language (zh-Hans): they are the town's
official paper, whoever presses the button. `table()` is the one layout of the numbers,
shared by the two documents and the bulletin page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import override
from openpyxl.utils import get_column_letter

from fangkong.core.tabular import SIGNED, Cell, PageSetup, Sheet, write_workbook
from fangkong.org.models import Level
from fangkong.reports.bulletin import Summary

BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
TITLE_FONT = "方正小标宋简体"
TABLE_FONT = "宋体"


def status_label(status: str, at: str = "") -> str:
    labels = {
        "on_time": _("On time"),
        "late": _("Late"),
        "missing": _("Missing"),
        "pending": _("Not yet due"),
    }
    text = str(labels.get(status, status))
    return f"{text} {at}".strip() if status in ("on_time", "late") else text


def table(summary: Summary) -> tuple[list[str], list[list[Any]], list[Any], list[Any] | None]:
    """Header, one row per village (a town's bulletin) or per town (a county's), the
    totals row and the change-from-yesterday row."""
    keys = [k for k, _label in summary["fields"]]
    labels = [label for _k, label in summary["fields"]]
    by_village = summary["level"] >= Level.TOWN
    if by_village:
        header = [_("Village / community"), _("Report"), *labels]
        lead = [[r["name"], status_label(r["status"], r["submitted_at"])] for r in summary["rows"]]
        blank = [""]
    else:
        header = [_("Town / street"), _("Villages"), _("On time"), _("Late"), _("Missing"), *labels]
        lead = [
            [r["name"], r["villages"], r["on_time"], r["late"], r["missing"]]
            for r in summary["rows"]
        ]
        c = summary["counts"]
        blank = [c["villages"], c["on_time"], c["late"], c["missing"]]
    rows = [
        lead_cells + [r["values"].get(k, 0) for k in keys]
        for lead_cells, r in zip(lead, summary["rows"], strict=True)
    ]
    total = [_("Total"), *blank, *(summary["totals"].get(k, 0) for k in keys)]
    change = None
    if summary.get("change") is not None:
        change = [
            _("Change from yesterday"),
            *([""] * len(blank)),
            *(_signed(summary["change"].get(k, 0)) for k in keys),
        ]
    return [str(h) for h in header], rows, [str(total[0]), *total[1:]], change


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def _day_cn(iso: str) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    return _("%(y)d-%(m)d-%(d)d") % {"y": y, "m": m, "d": d}


def lead_paragraphs(summary: Summary) -> list[str]:
    """The opening sentences: who reported, the day's totals with the change."""
    c = summary["counts"]
    out = [
        _(
            "Of the %(n)d villages and communities of %(node)s, %(on_time)d reported on time, "
            "%(late)d late and %(missing)d not at all."
        )
        % {
            "n": c["villages"],
            "node": summary["node"],
            "on_time": c["on_time"],
            "late": c["late"],
            "missing": c["missing"],
        }
    ]
    parts = []
    for key, label in summary["fields"]:
        n = summary["totals"].get(key, 0)
        if summary.get("change") is not None:
            parts.append(
                _("%(label)s %(n)d (%(change)s on yesterday)")
                % {"label": label, "n": n, "change": _signed(summary["change"][key])}
            )
        else:
            parts.append(f"{label} {n}")
    out.append(_("Today: %(parts)s.") % {"parts": _("; ").join(parts)})
    return out


def named_paragraphs(summary: Summary) -> list[str]:
    out = []
    if summary["late"]:
        out.append(
            _("Late: %(names)s.")
            % {"names": _(", ").join(f"{name}（{at}）" for name, at in summary["late"])}
        )
    if summary["missing"]:
        out.append(_("Not reported: %(names)s.") % {"names": _(", ").join(summary["missing"])})
    if summary["late"] or summary["missing"]:
        out.append(_("These villages and communities are told to put it right at once."))
    else:
        out.append(_("Every village and community reported on time."))
    return out


def _minutes(value: Any) -> str:
    return "—" if value is None else f"{value:g}"


def times_table(summary: Summary) -> tuple[list[str], list[list[Any]]]:
    """Households' requests of the day by village and kind: the response times' one
    layout, shared by the documents and the page (bulletins made before it have none)."""
    header = [
        str(_("Village / community")),
        str(_("Kind")),
        str(_("Asked")),
        str(_("Answered")),
        str(_("Median (min)")),
        str(_("90th percentile (min)")),
        str(_("Late")),
    ]
    rows = [
        [
            t["village"],
            t["kind"],
            t["asked"],
            t["answered"],
            _minutes(t["median"]),
            _minutes(t["p90"]),
            _(", ").join(
                _("%(name)s %(n)d min late") % {"name": name, "n": n} for name, n, _a in t["late"]
            ),
        ]
        for t in summary.get("response_times") or []
    ]
    return header, rows


def times_paragraphs(summary: Summary) -> list[str]:
    _header, rows = times_table(summary)
    if not rows:
        return [str(_("No household asked for help that day."))]
    out = []
    for village, kind, asked, answered, median, p90, late in rows:
        text = _(
            "%(village)s, %(kind)s: %(asked)d asked, %(answered)d answered; median "
            "%(median)s minutes, 90th percentile %(p90)s minutes."
        ) % {
            "village": village,
            "kind": kind,
            "asked": asked,
            "answered": answered,
            "median": median,
            "p90": p90,
        }
        if late:
            text += " " + _("Late: %(names)s.") % {"names": late}
        out.append(text)
    return out


def teams_table(summary: Summary) -> tuple[list[str], list[list[Any]]]:
    """The special teams' reports, one row per team and field (each team reports its own
    fields): team, its report's status, the field, the value."""
    header = [str(_("Special team")), str(_("Report")), str(_("Item")), str(_("Number"))]
    rows = [
        [t["name"], status_label(t["status"], t["submitted_at"]), label, value]
        for t in summary.get("teams") or []
        for label, value in t["values"]
    ]
    return header, rows


def note_lines(summary: Summary) -> list[str]:
    lines = list(summary.get("highlights") or [])
    lines += [f"{who}（{label}）：{text}" for who, label, text in summary.get("notes", [])]
    return lines or [str(_("None."))]


# .docx ------------------------------------------------------------------------------------


def _font(run: Any, name: str, size: float, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    # Word picks the East Asian font from its own attribute; without it CJK text falls
    # back to the theme font whatever `name` says.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _para(
    doc: Any,
    text: str,
    font: str = BODY_FONT,
    size: float = 16,
    *,
    bold: bool = False,
    center: bool = False,
    indent: bool = True,
) -> Any:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    p = doc.add_paragraph()
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)  # two characters, as on paper
    p.paragraph_format.line_spacing = Pt(28)
    _font(p.add_run(text), font, size, bold)
    return p


def render_docx(summary: Summary) -> bytes:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm

    with override(settings.LANGUAGE_CODE):
        doc = Document()
        section = doc.sections[0]
        # A4 landscape: a dozen number columns do not fit across a portrait page.
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
        for side in ("left_margin", "right_margin"):
            setattr(section, side, Cm(2.0))
        section.top_margin = section.bottom_margin = Cm(2.0)
        _para(
            doc,
            _("%(node)s epidemic prevention and control daily bulletin")
            % {"node": summary["node"]},
            TITLE_FONT,
            22,
            center=True,
        )
        _para(doc, f"（{_day_cn(summary['day'])}）", BODY_FONT, 16, center=True)
        for text in lead_paragraphs(summary):
            _para(doc, text)
        _para(
            doc,
            _("1. By village and community") if summary["level"] >= Level.TOWN else _("1. By town"),
            HEADING_FONT,
            16,
            indent=True,
        )
        header, rows, total, change = table(summary)
        grid = doc.add_table(rows=1, cols=len(header))
        grid.style = "Table Grid"
        for cell, text in zip(grid.rows[0].cells, header, strict=True):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(text), TABLE_FONT, 9, bold=True)
        for values in [*rows, total, *([change] if change else [])]:
            cells = grid.add_row().cells
            for cell, value in zip(cells, values, strict=True):
                cell.text = ""
                _font(cell.paragraphs[0].add_run(str(value)), TABLE_FONT, 9, bold=values is total)
        _para(doc, _("2. Late and missing reports"), HEADING_FONT, 16)
        for text in named_paragraphs(summary):
            _para(doc, text)
        _para(doc, _("3. Households' requests: response times"), HEADING_FONT, 16)
        for text in times_paragraphs(summary):
            _para(doc, text)
        _para(doc, _("4. Highlights and problems"), HEADING_FONT, 16)
        for text in note_lines(summary):
            _para(doc, text)
        _teams_docx(doc, summary)
        _para(
            doc,
            _("Made by fangkong at %(at)s.") % {"at": summary["generated_at"]},
            BODY_FONT,
            12,
            indent=False,
        )
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


def _teams_docx(doc: Any, summary: Summary) -> None:
    header, rows = teams_table(summary)
    if not rows:
        return
    _para(doc, _("5. Special teams' reports"), HEADING_FONT, 16)
    grid = doc.add_table(rows=1, cols=len(header))
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, header, strict=True):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(text), TABLE_FONT, 9, bold=True)
    for values in rows:
        for cell, value in zip(grid.add_row().cells, values, strict=True):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(str(value)), TABLE_FONT, 9)


# .xlsx ------------------------------------------------------------------------------------


def render_xlsx(summary: Summary) -> bytes:
    """Through the one spreadsheet writer, which keeps a highlight such as
    `=HYPERLINK(...)` typed on the page as text."""
    with override(settings.LANGUAGE_CODE):
        header, rows, total, change = table(summary)
        title = _("%(node)s epidemic prevention and control daily bulletin") % {
            "node": summary["node"]
        }
        main: list[Sequence[Any]] = [
            [Cell(title, bold=True, size=16, center=True)],
            [_day_cn(summary["day"]), "", _("Made at %(at)s") % {"at": summary["generated_at"]}],
            [Cell(h, bold=True, wrap=True) for h in header],
            *rows,
            [Cell(v, bold=True) for v in total],
            *([[change[0], *(_signed_cell(v) for v in change[1:])]] if change else []),
        ]
        named = [[_("Village / community"), _("Report"), _("Time")]]
        named += [[name, status_label("late"), at] for name, at in summary["late"]]
        named += [[name, status_label("missing"), ""] for name in summary["missing"]]
        out = io.BytesIO()
        write_workbook(
            out,
            [
                Sheet(
                    title=str(_("Bulletin")),
                    rows=main,
                    widths={1: 18, **dict.fromkeys(range(2, len(header) + 1), 12)},
                    merges=[f"A1:{get_column_letter(len(header))}1"],
                    freeze="B4",
                    # As the .docx: a dozen number columns across one A4 page.
                    page=PageSetup(landscape=True),
                ),
                Sheet(title=str(_("Late and missing")), rows=named, page=PageSetup()),
                Sheet(
                    title=str(_("Response times")),
                    rows=[times_table(summary)[0], *times_table(summary)[1]],
                    widths={1: 14, 2: 14, 7: 40},
                    page=PageSetup(landscape=True),
                ),
                Sheet(
                    title=str(_("Highlights and problems")),
                    rows=[[line] for line in note_lines(summary)],
                    widths={1: 100},
                    page=PageSetup(landscape=True),
                ),
                Sheet(
                    title=str(_("Special teams")),
                    rows=[teams_table(summary)[0], *teams_table(summary)[1]],
                    widths={1: 20, 2: 14, 3: 24, 4: 40},
                    page=PageSetup(landscape=True),
                ),
            ],
        )
        return out.getvalue()


def _signed_cell(value: Any) -> Any:
    """ "+3" stays the number 3 in the spreadsheet, shown with its sign."""
    if isinstance(value, str) and value.lstrip("+-").isdigit():
        return Cell(int(value), number_format=SIGNED)
    return value
