from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the navigation needs to decide which entries to show."""
    user = request.user
    nav = {
        "org": has_perm(user, Perm.ORG_VIEW),
        "org_manage": has_perm(user, Perm.ORG_MANAGE),
        "export": has_perm(user, Perm.DATA_EXPORT),
        "staff_manage": has_perm(user, Perm.STAFF_MANAGE),
        "team_manage": has_perm(user, Perm.TEAM_MANAGE),
        "people": has_perm(user, Perm.PEOPLE_VIEW),
        "people_edit": has_perm(user, Perm.PEOPLE_EDIT),
        "people_import": has_perm(user, Perm.PEOPLE_IMPORT),
        "audit": has_perm(user, Perm.AUDIT_VIEW),
        "orders": has_perm(user, Perm.ORDERS_VIEW),
        "reports": has_perm(user, Perm.REPORTS_VIEW),
        "rules_manage": has_perm(user, Perm.RULES_MANAGE),
        "broadcast": has_perm(user, Perm.BROADCAST),
        "notify_manage": has_perm(user, Perm.NOTIFY_MANAGE),
        "clients_manage": has_perm(user, Perm.CLIENTS_MANAGE),
        "tasks": user.is_authenticated,
        "zones": has_perm(user, Perm.ZONES_VIEW),
        "places": has_perm(user, Perm.PLACES_VIEW),
        "assist": has_perm(user, Perm.ASSIST_VIEW),
        "response": has_perm(user, Perm.RESPONSE_VIEW),
        "tracing": has_perm(user, Perm.TRACING_VIEW),
        "checkpoints": has_perm(user, Perm.CHECKPOINTS_VIEW),
        "testing": any(
            has_perm(user, p)
            for p in (Perm.TESTING_VIEW, Perm.TESTING_SAMPLE, Perm.TESTING_RESULTS)
        ),
        "vaccination": has_perm(user, Perm.VACCINATION_VIEW),
    }
    # The menu's cache key (templates/base.html): which entries it shows.
    return {"nav": nav, "nav_key": "".join("1" if shown else "0" for shown in nav.values())}
