"""Supplies API: stores with their balances, a new store, a donation or purchase
received, and a package recorded at a household's door (from a phone's queue: the same
client id is one package)."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Annotated, Literal

from django.http import Http404, HttpRequest
from ninja import Field, Schema

from fangkong.accounts.selectors import request_user
from fangkong.assist import selectors
from fangkong.assist.models_supplies import Item, Store
from fangkong.assist.supplies import (
    MAX_QUANTITY,
    package_issue,
    packages_sync,
    receive,
    store_create,
)
from fangkong.core.api_kit import SyncStatus, referenced, sync_recorded, sync_status
from fangkong.core.bounds import Count, Id
from fangkong.org.access import ScopedRouter
from fangkong.org.roles import Perm
from fangkong.org.selectors import jurisdiction_for_user

router = ScopedRouter(tags=["assist"])

Code = Annotated[str, Field(max_length=40)]


class BalanceOut(Schema):
    item: str
    name: str
    quantity: Count
    short: bool


class StoreOut(Schema):
    id: Id
    name: str
    node: str
    balances: list[BalanceOut]

    @classmethod
    def of(cls, s: Store) -> StoreOut:
        return cls(
            id=s.pk,
            name=s.name,
            node=s.jurisdiction.code,
            balances=[
                BalanceOut(item=i.code, name=i.name, quantity=q, short=short)
                for i, q, short in selectors.balances(s)
            ],
        )


class StoreIn(Schema):
    node: Code
    name: Annotated[str, Field(min_length=1, max_length=60)]


class LineIn(Schema):
    item: Annotated[str, Field(max_length=20)]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


class ReceiptIn(Schema):
    kind: Literal["donation", "purchase"]
    donor: Annotated[str, Field(max_length=100)] = ""
    note: Annotated[str, Field(max_length=200)] = ""
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=50)]
    client_id: uuid.UUID


class PackageIn(Schema):
    household_id: Id
    client_id: uuid.UUID


class PackageOut(Schema):
    id: Id
    household_id: Id
    day: str
    created: bool


@router.read("/stores", perm=Perm.ASSIST_VIEW, response=list[StoreOut])
def list_stores(request: HttpRequest) -> list[StoreOut]:
    return [StoreOut.of(s) for s in selectors.stores_visible(request.user)[:100]]


@router.write("/stores", perm=Perm.ASSIST_ENTER, response={201: StoreOut})
def create_store(request: HttpRequest, body: StoreIn) -> tuple[int, StoreOut]:
    user = request_user(request)
    node = referenced(
        "node", lambda: jurisdiction_for_user(user, body.node, write=Perm.ASSIST_ENTER)
    )
    made = store_create(actor=user, jurisdiction=node, name=body.name)
    return 201, StoreOut.of(made)


@router.read("/stores/{store_id}", perm=Perm.ASSIST_VIEW, response=StoreOut)
def get_store(request: HttpRequest, store_id: Id) -> StoreOut:
    return StoreOut.of(selectors.store_for_user(request.user, store_id))


def _guard(user: object, kwargs: dict[str, object]) -> object:
    return selectors.store_for_user(user, int(str(kwargs["store_id"])), write=True)


def _handing_guard(user: object, kwargs: dict[str, object]) -> object:
    return selectors.handing_store_for_user(user, int(str(kwargs["store_id"])))


def _item(code: str) -> Item:
    found = selectors.items().filter(code=code).first()
    if found is None:
        raise Http404
    return found


@router.write(
    "/stores/{store_id}/receipts",
    perm=Perm.ASSIST_ENTER,
    assignee=_guard,
    response={201: StoreOut},
)
def create_receipt(request: HttpRequest, store_id: Id, body: ReceiptIn) -> tuple[int, StoreOut]:
    store = selectors.store_for_user(request.user, store_id, write=True)
    lines = [(referenced("lines", partial(_item, line.item)), line.quantity) for line in body.lines]
    receive(
        actor=request_user(request),
        store=store,
        kind=body.kind,
        lines=lines,
        client_id=body.client_id,
        donor=body.donor,
        note=body.note,
    )
    return 201, StoreOut.of(store)


@router.write(
    "/stores/{store_id}/packages",
    perm=Perm.ASSIST_ENTER,
    assignee=_handing_guard,
    writes_at="within",
    response={201: PackageOut},
)
def create_package(request: HttpRequest, store_id: Id, body: PackageIn) -> tuple[int, PackageOut]:
    user = request_user(request)
    store = selectors.handing_store_for_user(user, store_id)
    household = referenced(
        "household_id",
        lambda: selectors.package_household_for_user(user, body.household_id),
    )
    package, created = package_issue(
        actor=user,
        store=store,
        household=household,
        client_id=body.client_id,
    )
    return 201, PackageOut(
        id=package.pk, household_id=household.pk, day=package.day.isoformat(), created=created
    )


class PackageRecordIn(Schema):
    client_id: uuid.UUID
    household_id: Id
    given_at: datetime | None = None
    # A masked label the phone shows while queued; not used here.
    label: Annotated[str, Field(max_length=80)] = ""


class PackageSyncIn(Schema):
    records: Annotated[list[PackageRecordIn], Field(min_length=1, max_length=500)]


class PackageAnswerOut(Schema):
    client_id: uuid.UUID
    status: SyncStatus
    error: str
    package_id: Id | None


class PackageSyncOut(Schema):
    recorded: Count
    answers: list[PackageAnswerOut]


@router.write(
    "/stores/{store_id}/packages/sync",
    perm=Perm.ASSIST_ENTER,
    assignee=_handing_guard,
    writes_at="within",
    response=PackageSyncOut,
)
def sync_packages(request: HttpRequest, store_id: Id, body: PackageSyncIn) -> PackageSyncOut:
    """Packages from a phone's offline queue (ADR 0020): each answered on its own, and
    recorded once however often it is sent (its client id)."""
    user = request_user(request)
    store = selectors.handing_store_for_user(user, store_id)
    households = selectors.package_households(user, [r.household_id for r in body.records])
    answers = packages_sync(
        actor=user,
        store=store,
        records=[(r.client_id, households.get(r.household_id), r.given_at) for r in body.records],
    )
    return PackageSyncOut(
        recorded=sync_recorded(answers),
        answers=[
            PackageAnswerOut(
                client_id=a.client_id,
                status=sync_status(a.status),
                error=a.error,
                package_id=a.package_id,
            )
            for a in answers
        ],
    )
