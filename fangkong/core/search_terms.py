"""Search terms that must not travel in a URL.

An ID number or phone typed into a search box would otherwise sit in the address bar,
the browser's history, the server's access log and the Referer of the next request.
Search forms therefore POST, and the page answers with an address to come back to: a
term holding a digit (an ID number, a phone, the last 4 digits, a part of one) is kept
in the session, encrypted, under a random token, and the address carries `t=<token>`
instead. Pagination, exports and links built from that address carry the token, which
means nothing outside the session and lapses after a few hours. A term without digits
(a name, pinyin initials, a unit) identifies nobody on its own and stays readable in
the address as `q=`.

A term with digits arriving in the address anyway (an old bookmark, a hand-made link)
is not searched for, so such links stop working rather than teach anyone to make them.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

from fangkong.core.crypto import DecryptionError, blind_index, decrypt, encrypt
from fangkong.core.identity import normalise_id_number
from fangkong.core.masking import mask_id_number, mask_middle, mask_name, mask_phone
from fangkong.core.normalise import fold_width, is_mainland_mobile, normalise_phone

TERM_PARAM = "q"
STASH_PARAM = "t"
SESSION_KEY = "fk_search_terms"
TOKEN_SECONDS = 4 * 3600
MAX_TOKENS = 30  # per session; the oldest lapse first

# 18 characters, or the 15 digits of a first-generation card.
_ID_LIKE = re.compile(r"^\d{14,17}[\dX]$")


def holds_digits(term: str) -> bool:
    """Whether a term may identify someone, and so stays out of addresses."""
    return any(c.isdigit() for c in fold_width(term or ""))


def stash(request: HttpRequest, term: str) -> str:
    """The token standing for `term` in this session; the same term keeps its token, so
    a live search typing the same number twice does not fill the session."""
    now = int(time.time())
    key = blind_index("search-term:" + term)
    kept: dict[str, dict[str, Any]] = {
        token: entry
        for token, entry in request.session.get(SESSION_KEY, {}).items()
        if entry.get("until", 0) > now
    }
    token = next((t for t, entry in kept.items() if entry.get("key") == key), "")
    if not token:
        token = secrets.token_urlsafe(12)
        kept[token] = {"key": key, "term": encrypt(term)}
    kept[token]["until"] = now + TOKEN_SECONDS
    newest = sorted(kept.items(), key=lambda item: item[1]["until"])[-MAX_TOKENS:]
    request.session[SESSION_KEY] = dict(newest)
    return token


def resolve(request: HttpRequest, token: str) -> str | None:
    """The term behind a token of this session; None when unknown or lapsed."""
    entry = request.session.get(SESSION_KEY, {}).get(token)
    if not entry or entry.get("until", 0) <= int(time.time()):
        return None
    try:
        return decrypt(entry["term"])
    except (DecryptionError, KeyError):
        return None


def address_query(request: HttpRequest, posted: QueryDict, fields: Iterable[str]) -> QueryDict:
    """The address for a posted search: the other filters as they are, the term as
    `q=` or, when it holds a digit, as a token."""
    query = QueryDict(mutable=True)
    for name in fields:
        for value in posted.getlist(name):
            if value.strip():
                query.appendlist(name, value.strip())
    term = posted.get(TERM_PARAM, "").strip()
    if term and holds_digits(term):
        query[STASH_PARAM] = stash(request, term)
    elif term:
        query[TERM_PARAM] = term
    return query


@dataclass(frozen=True)
class AddressTerm:
    term: str = ""
    # Why the address's term could not be used; the page then shows nothing, since an
    # unfiltered list (or export) is not what was asked for.
    error: str = ""


def term_from_address(request: HttpRequest, params: QueryDict) -> AddressTerm:
    token = params.get(STASH_PARAM, "")
    if token:
        term = resolve(request, token)
        if term is None:
            return AddressTerm(error=_("This search has lapsed; type it again."))
        return AddressTerm(term)
    term = params.get(TERM_PARAM, "").strip()
    if holds_digits(term):
        return AddressTerm(
            error=_(
                "ID numbers and phone numbers are not taken from the address; "
                "type them in the search box."
            )
        )
    return AddressTerm(term)


def identifier_in(term: str) -> tuple[str, str] | None:
    """("phone", digits) for a whole mainland mobile, ("id", number) for a whole ID
    number, normalised as their keyed hashes are computed; None for anything else."""
    compact = normalise_id_number(term)
    digits = normalise_phone(compact)
    if is_mainland_mobile(digits) and digits == re.sub(r"\D", "", compact.replace("+86", "")):
        return "phone", digits
    if _ID_LIKE.match(compact):
        return "id", compact
    return None


def term_for_record(term: str) -> dict[str, str]:
    """A search term as an audit record (or anything else kept) may hold it: masked,
    and for a whole ID number or mobile also the keyed hash the records use, so an
    auditor can find every export that searched for one person."""
    term = (term or "").strip()
    if not term:
        return {}
    if not holds_digits(term):
        return {"q": mask_name(term)}
    found = identifier_in(term)
    if found is not None:
        kind, value = found
        masked = mask_phone(value) if kind == "phone" else mask_id_number(value)
        return {"q": masked, "q_hash": blind_index(value)}
    return {"q": mask_middle(normalise_id_number(term), 3, 4)}
