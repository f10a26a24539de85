"""Reads of the rules, scoped to the viewer.

National editions and the risk-area catalogue serve every town: everyone signed in reads
them, and only a manager of the top of the tree changes them (national editions are
never changed: a town copies one). A local edition belongs to its town: it is seen by
those who work at, under or above that town, and changed by whoever holds rules.manage
at its node.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from fangkong.org.access import require_perm_at, require_top
from fangkong.org.roles import Perm
from fangkong.org.scoping import at_or_above_q
from fangkong.policy.models import Edition, RiskArea


def editions_visible(user: Any) -> QuerySet[Edition]:
    return Edition.objects.filter(Q(scope__isnull=True) | at_or_above_q(user, None, "scope__path"))


def edition_for_user(user: Any, edition_id: int, *, write: bool = False) -> Edition:
    """404 for an edition of another town; 403 for writing a national one, or a local
    one without rules.manage at its town."""
    edition = editions_visible(user).select_related("scope").filter(pk=edition_id).first()
    if edition is None:
        raise Http404
    if write:
        if edition.scope is None:
            raise PermissionDenied
        require_perm_at(user, Perm.RULES_MANAGE, edition.scope.path)
    return edition


def area_for_user(user: Any, area_id: int, *, write: bool = False) -> RiskArea:
    """The shared catalogue: read by everyone signed in, changed from the top."""
    area = RiskArea.objects.filter(pk=area_id).first()
    if area is None:
        raise Http404
    if write:
        require_top(user, Perm.RULES_MANAGE)
    return area
