"""The registry list's filters, read from a page's address, and what a record may keep
of them. The search term travels as `q=` (a name) or as a session token (anything with
a digit); see `core.search_terms`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, QueryDict

from fangkong.core.search_terms import term_for_record, term_from_address
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.people import selectors
from fangkong.people.forms import PersonFilterForm

# The filters other than the search term, kept in the address as they are.
ADDRESS_FIELDS = ("node", "address", "tag", "residency", "status", "age")


def person_filters(
    request: HttpRequest, params: QueryDict | None = None
) -> tuple[PersonFilterForm, selectors.PersonFilters]:
    """The form (bound to what the address asks, with the term behind a token) and the
    filters; `refused` when the address's term cannot be used, with the reason on the
    form."""
    params = request.GET if params is None else params
    found = term_from_address(request, params)
    data = params.copy()
    data.pop("t", None)
    data["q"] = found.term
    form = PersonFilterForm(data if params else None)
    filters = selectors.PersonFilters()
    if form.is_valid():
        cleaned = form.cleaned_data
        node = None
        if cleaned["node"]:
            node = jurisdiction_for_user(request.user, cleaned["node"], Perm.PEOPLE_VIEW)
        filters = selectors.PersonFilters(
            q=cleaned["q"],
            node=node,
            address=cleaned["address"],
            tag=cleaned["tag"],
            residency=cleaned["residency"],
            status=cleaned["status"],
            age=cleaned["age"],
        )
    if found.error:
        if form.is_bound:
            form.add_error("q", found.error)
        filters.refused = True
    return form, filters


def filters_for_record(filters: selectors.PersonFilters) -> dict[str, Any]:
    """The filters as an audit record or an order's source may keep them: the search
    term masked (and hashed), never in clear."""
    record: dict[str, Any] = term_for_record(filters.q)
    if filters.node is not None:
        record["node"] = filters.node.code
    for name in ("address", "tag", "residency", "status", "age"):
        if getattr(filters, name):
            record[name] = getattr(filters, name)
    return record
