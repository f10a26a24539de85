"""Matching outside records (county push lists, returnee reports, ...) to registered persons.

Every list that arrives from outside goes through `match_records`: each row gets up to
`limit` candidates with a score in 0..1 and the reasons in words, and `best_match`
says whether the top candidate may be taken without a person confirming it.

How it stays set-based: records are prepared once (normalised ID, its blind index and
the blind indexes of its plausible one-digit/swap corrections, phone hash, name key in
simplified script, pinyin initials, birth date), then for each block of `BLOCK` records
a handful of queries over indexed columns gather every person that could score at all
(ID/phone hashes, name keys, initials with a birth date or the last-4 hash). Only those
rows are loaded, as plain column values: no clear ID or phone is ever decrypted here,
the comparison is between blind indexes. Scoring then happens in memory against small
per-key buckets, never against the whole pool.

No clear ID number or phone appears in a reason, a log line or an exception.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from fangkong.core.crypto import blind_index
from fangkong.core.identity import ID_CHECK, ID_WEIGHTS, check_character, normalise_id_number
from fangkong.core.normalise import fold_width, is_landline, is_mainland_mobile, normalise_phone
from fangkong.people.models import Person
from fangkong.people.names import name_initials, name_key
from fangkong.people.services import last4_key
from fangkong.people.validation import explain_id_damage, parse_date


@dataclass
class OutsideRecord:
    """A row from an outside list; any field may be missing or wrong."""

    name: str = ""
    id_number: str = ""
    phone: str = ""
    address: str = ""
    birth_date: str = ""  # as given; parsed leniently


@dataclass
class Candidate:
    person_id: int
    score: float  # 0..1
    reasons: list[str] = field(default_factory=list)  # e.g. ["exact ID"], ["name + phone"]
    # The rule names behind `reasons` (language-independent, for code and tests).
    rules: list[str] = field(default_factory=list)


# --- Rules -------------------------------------------------------------------------
#
# One row per rule: (name, weight, reason). A candidate's score is the weight of its
# strongest rule, raised by further rules (each closes CORROBORATION of the remaining gap
# to 1, times its weight) and lowered by contradictions (the score is multiplied).
#
# Why these weights:
# * exact ID: a resident ID is unique and the registry refuses duplicates.
# * ID one digit off / two adjacent digits swapped + same name: GB 11643's check digit
#   catches every single-digit error and every swap of neighbours, so a number failing
#   it is a typo of a real number; the same name makes the corrected number almost
#   certainly this person, whatever part of the number the typo hit (the birth date
#   included, so the date cannot be asked to agree). A swap of digits further apart may
#   leave the check digit right: that number may be someone else's, so it needs the
#   birth date to agree as well. Without the name a correction is weak: in a county ~40
#   people share a birth date and region, and the sequence digits are where typos
#   land, so a corrected number often belongs to a stranger.
# * name + phone: a phone is shared within a household, but the same name in the same
#   household is rare (and shows up as a competing candidate when it happens).
# * name + birth date: strong in a town, but a county has hundreds of 张伟 and a few
#   pairs share a birthday; needs one more piece of evidence for an automatic match.
# * last 4 ID digits + name: 1 in ~11,000 for a stranger of the same name.
# * similar name (one character off, or the same pinyin initials): typos and homophones
#   are common in hand-typed lists, but so are different people with similar names.
# * phone alone: shared by a household; never enough.
RULES: tuple[tuple[str, float, Promise], ...] = (
    ("exact_id", 1.00, _("exact ID")),
    ("id_digit_name", 0.93, _("ID differs by one digit + name")),
    ("id_adjacent_name", 0.93, _("ID has two adjacent digits swapped + name")),
    ("id_swap_name", 0.93, _("ID has two digits swapped + name")),
    ("name_phone", 0.90, _("name + phone")),
    ("name_birth", 0.85, _("name + birth date")),
    ("id_near_similar_name", 0.80, _("ID differs slightly + same or similar name")),
    ("last4_name", 0.75, _("last 4 ID digits + name")),
    ("similar_name_phone", 0.75, _("similar name + phone")),
    ("similar_name_birth", 0.70, _("similar name + birth date")),
    ("name_address", 0.70, _("name + address")),
    ("similar_name_address", 0.60, _("similar name + address")),
    ("last4_similar_name", 0.55, _("last 4 ID digits + similar name")),
    ("id_near", 0.40, _("ID differs by one digit")),
    ("phone_only", 0.40, _("phone only (shared in household)")),
    ("name_only", 0.30, _("name only")),
)
# Contradictions: (name, multiplier, reason). A well-formed ID on the record that is
# neither this person's nor a one-typo variant of it speaks against them; so does a
# different birth date when the date was given (not guessed from a damaged ID); an exact
# ID under a different name is the classic shifted-row error in a spreadsheet.
CONTRADICTIONS: tuple[tuple[str, float, Promise], ...] = (
    ("id_conflict", 0.60, _("ID number differs")),
    ("birth_conflict", 0.70, _("birth date differs")),
    ("name_conflict", 0.80, _("name differs")),
)
CORROBORATION = 0.5

# --- Thresholds for an automatic match ----------------------------------------------
#
# AUTO_MIN_SCORE admits exact ID (1.0), ID typo + name (0.93; unambiguous because the
# runner-up, another resident of that name, scores "name only"), name + phone (0.90) and
# name + birth date with one more agreeing rule (0.85 + corroboration ≥ 0.88); it keeps
# out name + birth date alone, every "similar name" rule and phone alone.
# AUTO_MIN_MARGIN: the runner-up must be clearly weaker, so two household members with
# the same name and phone, or two namesakes born the same day, go to a person. An exact
# ID without contradictions is unambiguous by itself (the ID is unique in the registry).
AUTO_MIN_SCORE = 0.88
AUTO_MIN_MARGIN = 0.15
# Below this a candidate is not worth showing.
MIN_CANDIDATE_SCORE = 0.25
# Address similarity (rapidfuzz partial ratio, 0..100) counted as "same address", with
# every number in the record's address (house, group, room) present in the registry's.
ADDRESS_MIN_RATIO = 80.0
ADDRESS_MIN_CHARS = 4
# Records per round of gathering queries: bounds the parameters of one query (ID
# corrections are up to ~35 hashes per record) well under SQLite's 32,766.
BLOCK = 250

_CORRECTION_RULE = {
    "digit": "id_digit_name",
    "adjacent": "id_adjacent_name",
    "swap": "id_swap_name",
}
_WEIGHT = {name: weight for name, weight, _reason in RULES}
_REASON = {name: reason for name, _weight, reason in RULES}
_MULTIPLIER = {name: factor for name, factor, _reason in CONTRADICTIONS}
_REASON.update({name: reason for name, _factor, reason in CONTRADICTIONS})

_ID_FORM = re.compile(r"^\d{17}[\dX]$")
_OLD_ID_FORM = re.compile(r"^\d{15}$")
_X_SWAPPED_FORM = re.compile(r"^\d{16}X\d$")
_LAST4_FORM = re.compile(r"^[\dX]{4}$")
_MASK_CHARS = re.compile(r"[*＊×xX?？]")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")

_PERSON_COLUMNS = (
    "id",
    "name_key",
    "name_initials",
    "birth_date",
    "id_number_hash",
    "id_last4_hash",
    "phone_hash",
    "phone2_hash",
    "household_id",
    "household__address",
)


# --- Preparing a record --------------------------------------------------------------


def _plausible_date(text: str, today: date) -> date | None:
    """YYYYMMDD from an ID's date part, when it is a real date in the past."""
    if not text.isdigit() or len(text) != 8:
        return None
    try:
        result = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    return result if date(1890, 1, 1) <= result <= today else None


def id_corrections(number: str, *, today: date) -> dict[str, str]:
    """The well-formed numbers one typo away from `number`:
    {number: "digit" | "adjacent" | "swap"}.

    A single wrong digit, a wrong check character, or two exchanged characters
    ("adjacent" when they are neighbours), kept only when the result passes the check
    digit and has a real birth date. Solved
    arithmetically per position rather than by trying every digit: the check sum is
    linear in each digit.
    """
    digits = [int(d) for d in number[:17]]
    target = ID_CHECK.index(number[17])
    total = sum(d * w for d, w in zip(digits, ID_WEIGHTS, strict=True)) % 11
    found: dict[str, str] = {}

    def keep(candidate: str, kind: str) -> None:
        if candidate != number and _plausible_date(candidate[6:14], today):
            found.setdefault(candidate, kind)

    for i, weight in enumerate(ID_WEIGHTS):
        # Solve total + weight * (new - old) ≡ target (mod 11) for the new digit.
        new = (digits[i] + (target - total) * pow(weight, -1, 11)) % 11
        if new <= 9 and new != digits[i]:
            keep(number[:i] + str(new) + number[i + 1 :], "digit")
    keep(number[:17] + ID_CHECK[total], "digit")
    # Swaps change the sum by (w_i - w_j)(d_j - d_i); only those that land on the check
    # character are built as strings.
    for i in range(17):
        for j in range(i + 1, 17):
            if (
                digits[i] != digits[j]
                and (total + (ID_WEIGHTS[i] - ID_WEIGHTS[j]) * (digits[j] - digits[i])) % 11
                == target
            ):
                keep(
                    number[:i] + number[j] + number[i + 1 : j] + number[i] + number[j + 1 :],
                    "adjacent" if j == i + 1 else "swap",
                )
        # Swapped with the check character (only a digit can move into the body).
        if number[17].isdigit() and number[17] != number[i]:
            moved = int(number[17])
            new_total = (total + ID_WEIGHTS[i] * (moved - digits[i])) % 11
            if ID_CHECK[new_total] == number[i]:
                keep(
                    number[:i] + number[17] + number[i + 1 : 17] + number[i],
                    "adjacent" if i == 16 else "swap",
                )
    return found


@dataclass
class _Prepared:
    key: str = ""
    initials: str = ""
    id_hash: str = ""  # exact lookup
    id_well_formed: bool = False  # check digit and date are right: may contradict
    corrections: dict[str, str] = field(default_factory=dict)  # hash -> "digit"/"swap"
    last4_hash: str = ""
    birth: date | None = None
    birth_given: bool = False  # from the record or a well-formed ID (not a guess)
    phone_hash: str = ""
    address: str = ""
    address_numbers: frozenset[str] = frozenset()


def _prepare_id(raw: str, prepared: _Prepared, today: date) -> None:
    if not raw.strip():
        return
    if explain_id_damage(raw) is not None:
        # Excel's damage: the tail is zeros (or only a few leading digits survive), so
        # no exact lookup and no last 4; the date part of a zeroed number is intact.
        number = normalise_id_number(raw)
        if len(number) == 18 and prepared.birth is None:
            prepared.birth = _plausible_date(number[6:14], today)
        return
    number = normalise_id_number(raw)
    if _X_SWAPPED_FORM.match(number):
        # The check character X typed one place early: the one typo that leaves a
        # letter inside the number. Only its correction can be looked up.
        fixed = number[:16] + number[17] + "X"
        birth = _plausible_date(fixed[6:14], today)
        if birth is not None and check_character(fixed[:17]) == "X":
            prepared.corrections = {blind_index(fixed): "adjacent"}
            prepared.birth = prepared.birth or birth
        return
    if _OLD_ID_FORM.match(number):
        # A first-generation 15-digit number: the 18-digit form is fixed by the rules.
        body = number[:6] + "19" + number[6:]
        number = body + check_character(body)
    if _ID_FORM.match(number):
        birth = _plausible_date(number[6:14], today)
        well_formed = birth is not None and check_character(number[:17]) == number[17]
        prepared.id_hash = blind_index(number)
        prepared.id_well_formed = well_formed
        prepared.last4_hash = last4_key(number) or ""
        if birth is not None and prepared.birth is None:
            prepared.birth, prepared.birth_given = birth, well_formed
        prepared.corrections = {
            blind_index(n): kind for n, kind in id_corrections(number, today=today).items()
        }
    elif _MASK_CHARS.search(number[:-4] if len(number) > 4 else ""):
        # A masked number (433122********1234): its last 4 and, if shown, its date part.
        if len(number) == 18 and _LAST4_FORM.match(number[-4:]):
            prepared.last4_hash = last4_key(number) or ""
        if len(number) == 18 and prepared.birth is None:
            prepared.birth = _plausible_date(number[6:14], today)
    elif _LAST4_FORM.match(number):
        prepared.last4_hash = last4_key(number) or ""
    elif len(number) >= 5:
        # Passports and permits are stored normalised; exact lookup only.
        prepared.id_hash = blind_index(number)


def _clean_address(text: str) -> str:
    return _SPACE.sub("", fold_width(text))


def prepare(record: OutsideRecord, *, today: date) -> _Prepared:
    prepared = _Prepared()
    if record.name.strip():
        prepared.key = name_key(record.name)
        prepared.initials = name_initials(record.name)
    if record.birth_date.strip():
        try:
            prepared.birth = parse_date(record.birth_date, today=today)
            prepared.birth_given = prepared.birth is not None
        except ValidationError:
            prepared.birth = None
    _prepare_id(record.id_number, prepared, today)
    phone = normalise_phone(record.phone)
    if is_mainland_mobile(phone) or is_landline(phone):
        prepared.phone_hash = blind_index(phone)
    address = _clean_address(record.address)
    if len(address) >= ADDRESS_MIN_CHARS:
        prepared.address = address
        prepared.address_numbers = frozenset(_DIGITS.findall(address))
    return prepared


# --- Gathering ------------------------------------------------------------------------


@dataclass
class _Row:
    id: int
    name_key: str
    name_initials: str
    birth_date: date | None
    id_number_hash: str
    id_last4_hash: str
    phone_hash: str
    phone2_hash: str
    household_id: int | None
    address: str


def _any_of(terms: list[Q]) -> Q:
    return Q(*terms, _connector=Q.OR)


def _gather(block: Sequence[_Prepared], persons: QuerySet[Person]) -> dict[int, _Row]:
    """Every person any record of the block could score against, in ≤ 5 queries."""
    base = persons.order_by()
    id_hashes = {h for p in block for h in (p.id_hash, *p.corrections) if h}
    phones = {p.phone_hash for p in block if p.phone_hash}
    keys = {p.key for p in block if p.key}
    by_birth: dict[date, set[str]] = defaultdict(set)
    by_last4: dict[str, set[str]] = defaultdict(set)
    address_only: set[str] = set()
    for p in block:
        if not p.initials:
            continue
        if p.birth is not None:
            by_birth[p.birth].add(p.initials)
        if p.last4_hash:
            by_last4[p.last4_hash].add(p.initials)
        if p.address and p.birth is None and not p.last4_hash and not p.phone_hash:
            # Name and address are all there is: the only way to a typo in the name.
            address_only.add(p.initials)
    queries: list[Q] = []
    if id_hashes or phones:
        queries.append(
            Q(id_number_hash__in=id_hashes) | Q(phone_hash__in=phones) | Q(phone2_hash__in=phones)
        )
    if keys:
        queries.append(Q(name_key__in=keys))
    if by_birth:
        queries.append(_any_of([Q(birth_date=d, name_initials__in=i) for d, i in by_birth.items()]))
    if by_last4:
        queries.append(
            _any_of([Q(id_last4_hash=h, name_initials__in=i) for h, i in by_last4.items()])
        )
    if address_only:
        queries.append(Q(name_initials__in=address_only))
    rows: dict[int, _Row] = {}
    for q in queries:
        for v in base.filter(q).values_list(*_PERSON_COLUMNS):
            if v[0] not in rows:
                rows[v[0]] = _Row(
                    id=v[0],
                    name_key=v[1],
                    name_initials=v[2],
                    birth_date=v[3],
                    id_number_hash=v[4],
                    id_last4_hash=v[5],
                    phone_hash=v[6],
                    phone2_hash=v[7],
                    household_id=v[8],
                    address=_clean_address(v[9] or ""),
                )
    return rows


class _Buckets:
    """Gathered persons by the keys a record looks them up with."""

    def __init__(self, rows: Iterable[_Row]) -> None:
        self.by_hash: dict[str, list[_Row]] = defaultdict(list)  # ID and phone hashes
        self.by_key: dict[str, list[_Row]] = defaultdict(list)
        self.by_initials_birth: dict[tuple[str, date], list[_Row]] = defaultdict(list)
        self.by_initials_last4: dict[tuple[str, str], list[_Row]] = defaultdict(list)
        self.by_initials: dict[str, list[_Row]] = defaultdict(list)
        for row in rows:
            for h in {row.id_number_hash, row.phone_hash, row.phone2_hash} - {""}:
                self.by_hash[h].append(row)
            self.by_key[row.name_key].append(row)
            if row.birth_date is not None:
                self.by_initials_birth[(row.name_initials, row.birth_date)].append(row)
            if row.id_last4_hash:
                self.by_initials_last4[(row.name_initials, row.id_last4_hash)].append(row)
            self.by_initials[row.name_initials].append(row)

    def for_record(self, p: _Prepared) -> dict[int, _Row]:
        found: dict[int, _Row] = {}
        lists = [self.by_hash.get(h, []) for h in (p.id_hash, p.phone_hash, *p.corrections) if h]
        if p.key:
            lists.append(self.by_key.get(p.key, []))
        if p.initials:
            if p.birth is not None:
                lists.append(self.by_initials_birth.get((p.initials, p.birth), []))
            if p.last4_hash:
                lists.append(self.by_initials_last4.get((p.initials, p.last4_hash), []))
            if p.address and p.birth is None and not p.last4_hash and not p.phone_hash:
                lists.append(self.by_initials.get(p.initials, []))
        for rows in lists:
            for row in rows:
                found[row.id] = row
        return found


# --- Scoring --------------------------------------------------------------------------


def _name_similarity(a: str, b: str) -> str:
    """ "same", "close" (one character off, or the same initials and length) or ""."""
    if not a or not b:
        return ""
    if a == b:
        return "same"
    # One character off; but in a two-character name a different surname is a
    # different family, not a typo.
    if (
        min(len(a), len(b)) >= 2
        and Levenshtein.distance(a, b, score_cutoff=1) <= 1
        and (min(len(a), len(b)) > 2 or a[0] == b[0])
    ):
        return "close"
    if len(a) == len(b) and a[0] == b[0] and name_initials(a) == name_initials(b):
        return "close"
    return ""


def _address_agrees(p: _Prepared, row: _Row) -> bool:
    if not p.address or not row.address:
        return False
    if not p.address_numbers <= frozenset(_DIGITS.findall(row.address)):
        return False
    return bool(fuzz.partial_ratio(p.address, row.address) >= ADDRESS_MIN_RATIO)


def _rules_for(p: _Prepared, row: _Row) -> tuple[list[str], list[str]]:
    """(fired rules, contradictions) for one record and one person."""
    name = _name_similarity(p.key, row.name_key)
    same, close = name == "same", name == "close"
    fired: list[str] = []
    conflicts: list[str] = []
    exact_id = bool(p.id_hash) and p.id_hash == row.id_number_hash
    correction = p.corrections.get(row.id_number_hash, "") if row.id_number_hash else ""
    phone = bool(p.phone_hash) and p.phone_hash in (row.phone_hash, row.phone2_hash)
    birth = p.birth is not None and p.birth == row.birth_date
    last4 = bool(p.last4_hash) and p.last4_hash == row.id_last4_hash
    address = (same or close) and _address_agrees(p, row)
    if exact_id:
        fired.append("exact_id")
        if p.key and not name:
            conflicts.append("name_conflict")
    if correction:
        # A number failing the check digit is a typo, whichever part it hit; one that
        # passes it (a distant swap can) may be another person's: then the date agrees too.
        if same and (birth or (correction != "swap" and not p.id_well_formed)):
            fired.append(_CORRECTION_RULE[correction])
        elif same or close:
            fired.append("id_near_similar_name")
        else:
            fired.append("id_near")
    if phone:
        fired.append("name_phone" if same else "similar_name_phone" if close else "phone_only")
    # The ID rules above already used the birth date that comes with the number.
    if birth and (same or close) and not exact_id and not (correction and same):
        fired.append("name_birth" if same else "similar_name_birth")
    if last4 and not exact_id and (same or close):
        fired.append("last4_name" if same else "last4_similar_name")
    if address:
        fired.append("name_address" if same else "similar_name_address")
    if same and not fired:
        fired.append("name_only")
    if not exact_id and not correction and p.id_well_formed and row.id_number_hash:
        conflicts.append("id_conflict")
    if p.birth_given and row.birth_date is not None and p.birth != row.birth_date:
        conflicts.append("birth_conflict")
    return fired, conflicts


def _score(fired: list[str], conflicts: list[str]) -> tuple[float, list[str]]:
    ordered = sorted(fired, key=lambda r: -_WEIGHT[r])
    score = _WEIGHT[ordered[0]]
    for rule in ordered[1:]:
        score += (1 - score) * _WEIGHT[rule] * CORROBORATION
    for conflict in conflicts:
        score *= _MULTIPLIER[conflict]
    return round(min(score, 1.0), 4), ordered + conflicts


def _candidates(p: _Prepared, rows: Iterable[_Row], limit: int) -> list[Candidate]:
    found: list[Candidate] = []
    for row in rows:
        fired, conflicts = _rules_for(p, row)
        if not fired:
            continue
        score, rules = _score(fired, conflicts)
        if score >= MIN_CANDIDATE_SCORE:
            reasons = [str(_REASON[r]) for r in rules]
            found.append(Candidate(person_id=row.id, score=score, reasons=reasons, rules=rules))
    found.sort(key=lambda c: (-c.score, c.person_id))
    return found[:limit]


# --- API ----------------------------------------------------------------------------


def match_records(
    records: Sequence[OutsideRecord],
    *,
    persons: QuerySet[Person] | None = None,
    limit: int = 5,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[list[Candidate]]:
    """Candidates for every record (same order), best first, at most `limit` each.

    `persons` restricts the search (pass a scoped queryset: `visible_to(...)`,
    `within(path)`); a person outside it is never returned. Queries: at most 5 per
    block of `BLOCK` records, whatever the rules find. `progress` hears how many records
    are done after each block.
    """
    pool = Person.objects.all() if persons is None else persons
    today = today or timezone.localdate()
    prepared = [prepare(r, today=today) for r in records]
    results: list[list[Candidate]] = []
    for start in range(0, len(prepared), BLOCK):
        block = prepared[start : start + BLOCK]
        if not any(p.key or p.id_hash or p.phone_hash or p.last4_hash for p in block):
            results.extend([] for _p in block)
            if progress is not None:
                progress(len(results))
            continue
        buckets = _Buckets(_gather(block, pool).values())
        results.extend(_candidates(p, buckets.for_record(p).values(), limit) for p in block)
        if progress is not None:
            progress(len(results))
    return results


def match_record(
    record: OutsideRecord,
    *,
    persons: QuerySet[Person] | None = None,
    limit: int = 5,
    today: date | None = None,
) -> list[Candidate]:
    return match_records([record], persons=persons, limit=limit, today=today)[0]


def best_match(candidates: Sequence[Candidate]) -> Candidate | None:
    """The candidate to take without confirmation, or None: "needs confirmation"."""
    if not candidates:
        return None
    top = candidates[0]
    if "exact_id" in top.rules and top.score >= 1.0:
        return top
    if top.score < AUTO_MIN_SCORE:
        return None
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    return top if top.score - runner_up >= AUTO_MIN_MARGIN else None


def explain(candidate: Candidate) -> str:
    """The reasons as one line, e.g. for a preview table."""
    return " · ".join(candidate.reasons)


def describe(rules: Sequence[str]) -> str:
    """Stored rule names (Candidate.rules) as one line in the current language."""
    return " · ".join(str(_REASON[r]) for r in rules if r in _REASON)


__all__ = [
    "AUTO_MIN_MARGIN",
    "AUTO_MIN_SCORE",
    "CONTRADICTIONS",
    "RULES",
    "Candidate",
    "OutsideRecord",
    "best_match",
    "describe",
    "explain",
    "match_record",
    "match_records",
]
