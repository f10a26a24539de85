"""Display masking of personal data.

GB/T 35273 asks for de-identified display; no national standard fixes the pattern, so
the defaults follow common practice (ID 3+4, phone 3+4, given name masked) and live in
one place so every page, API response and export masks identically.
"""

from __future__ import annotations

import re

from fangkong.core.normalise import is_landline, is_mainland_mobile, normalise_phone

MASK = "*"


def mask_middle(value: str, keep_prefix: int, keep_suffix: int) -> str:
    if not value:
        return ""
    if len(value) <= keep_prefix + keep_suffix:
        # Too short to keep both ends: keep at most the last two characters.
        keep = min(2, max(len(value) - 1, 0))
        return MASK * (len(value) - keep) + value[len(value) - keep :]
    middle = len(value) - keep_prefix - keep_suffix
    return value[:keep_prefix] + MASK * middle + value[len(value) - keep_suffix :]


def mask_id_number(value: str | None) -> str:
    """`110105194912310021` -> `110***********0021`."""
    return mask_middle(value or "", 3, 4)


def mask_phone(value: str | None) -> str:
    """`13812345678` -> `138****5678`; landlines keep the same 3 + 4 shape."""
    return mask_middle(value or "", 3, 4)


def mask_name(value: str | None) -> str:
    """`张三` -> `张*`, `李小明` -> `李*明`, `欧阳娜娜` -> `欧**娜`."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + MASK
    return value[0] + MASK * (len(value) - 2) + value[-1]


class MaskedIdentity:
    """For models holding a person's `id_number` and `phone`: their masked forms."""

    id_number: str
    phone: str

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


# ID- and phone-shaped numbers in any text -----------------------------------------------
#
# A list's cells come in every shape: "138 1234 5678", "+86-138-1234-5678",
# "(0571)8888 6666", full-width digits, an ID typed in groups. A column the reader did
# not recognise still holds them, so whatever shows a cell masks every such number in it.

_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ＋－（）　", "0123456789Xx+-() ")
# A run of digit groups joined by single separators; classified whole, then by parts.
_RUN = re.compile(r"\+?\d+[Xx]?(?:[ \-()]{1,2}\d+[Xx]?)*")
_GROUP = re.compile(r"\+?\d+[Xx]?")
_SEPARATORS = re.compile(r"[ \-()]")
_CELL = re.compile(r"\(?\+?\d[\d \-()]*[\dXx]")
_EXCEL_NUMBER = re.compile(r"^\d\.\d+E\+(\d+)$", re.IGNORECASE)


def _plausible_yymmdd(text: str) -> bool:
    return 1 <= int(text[2:4]) <= 12 and 1 <= int(text[4:6]) <= 31


def _kind_of(compact: str) -> str:
    """ "id" or "phone" for a number without separators, else ""."""
    body = compact.upper()
    if len(body) == 18 and body[:17].isdigit() and (body[17].isdigit() or body[17] == "X"):
        return "id"
    if len(body) == 15 and body.isdigit() and _plausible_yymmdd(body[6:12]):
        return "id"  # a first-generation resident ID (15 digits alone are too common)
    digits = normalise_phone(body)
    if body.lstrip("+").isdigit() and (is_mainland_mobile(digits) or is_landline(digits)):
        return "phone"
    return ""


def _mask_kind(kind: str, compact: str) -> str:
    if kind == "id":
        return mask_id_number(compact.upper())
    return mask_phone(normalise_phone(compact))


def personal_kind(value: str) -> str:
    """What a whole cell holds: "id" (a resident ID, also as Excel's float), "phone"
    (a mobile or a landline with its area code), or "" (anything else)."""
    text = value.translate(_FULL_WIDTH).strip()
    excel = _EXCEL_NUMBER.match(text)
    if excel:
        return {"17": "id", "14": "id", "10": "phone"}.get(excel.group(1), "")
    if not _CELL.fullmatch(text):
        return ""
    return _kind_of(_SEPARATORS.sub("", text))


def _mask_run(run: str) -> str:
    compact = _SEPARATORS.sub("", run)
    kind = _kind_of(compact)
    if kind:
        return _mask_kind(kind, compact)
    # Several numbers side by side ("2022-07-03 138 1234 5678"): from each group, the
    # longest span that reads as an ID or a phone is masked, the rest kept. Groups of
    # one or two digits (a date's month and day) only ever start a span.
    groups = list(_GROUP.finditer(run))
    out: list[str] = []
    i, last = 0, 0
    while i < len(groups):
        end = i + 1
        while end < len(groups) and len(groups[end].group()) >= 3:
            end += 1
        for j in range(end - 1, i - 1, -1):
            compact = "".join(g.group() for g in groups[i : j + 1])
            kind = _kind_of(compact)
            if kind:
                out.append(run[last : groups[i].start()] + _mask_kind(kind, compact))
                last, i = groups[j].end(), j + 1
                break
        else:
            i += 1
    out.append(run[last:])
    return "".join(out)


def mask_personal(text: str) -> str:
    """`text` with every ID- or phone-shaped number in it masked, however it is typed
    (groups, dashes, brackets, +86, full-width digits); everything else unchanged."""
    if not text:
        return ""
    folded = text.translate(_FULL_WIDTH)  # one character for one: positions still agree
    out: list[str] = []
    last = 0
    for m in _RUN.finditer(folded):
        start, end = m.span()
        masked = _mask_run(m.group())
        if masked != m.group():
            out.append(text[last:start] + masked)
            last = end
    out.append(text[last:])
    return "".join(out)
