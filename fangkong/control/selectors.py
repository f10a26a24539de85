"""Reads of control, always scoped to the viewer: one accessor per entity (the same 404
for "missing" and "not yours", 403 for a write without the permission at the object's
node) and the lists."""

from __future__ import annotations

from typing import Any

from fangkong.control.models import ControlOrder, IsolationSite, Transfer
from fangkong.org.access import object_for_user
from fangkong.org.roles import Perm


def control_order_for_user(user: Any, order_id: int, *, write: Perm | None = None) -> ControlOrder:
    return object_for_user(
        ControlOrder.objects.select_related("person", "jurisdiction", "room__site"),
        user,
        Perm.CONTROL_VIEW,
        write=write,
        pk=order_id,
    )


def site_for_user(user: Any, site_id: int, *, write: bool = False) -> IsolationSite:
    return object_for_user(
        IsolationSite.objects.select_related("jurisdiction"),
        user,
        Perm.CONTROL_VIEW,
        write=Perm.CONTROL_MANAGE if write else None,
        pk=site_id,
    )


def transfer_for_user(user: Any, transfer_id: int, *, write: bool = False) -> Transfer:
    return object_for_user(
        Transfer.objects.select_related("jurisdiction", "destination"),
        user,
        Perm.CONTROL_VIEW,
        write=Perm.CONTROL_MANAGE if write else None,
        pk=transfer_id,
    )
