"""The public report's limits, shared by the form behind a village's QR code and the
API a residents' mini-program uses: the same counters, in the same order, with the same
words, so neither way in is the easier one to flood.

One network is often many people (a family's Wi-Fi, a village office helping elders, a
carrier's shared address), so it is limited loosely and by accepted reports only. The
one sending is limited tightly by the phone and the ID number the report gives, on every
attempt that carries them (mistakes included): enough for a family reporting with one
phone after a few corrections, not for a script. The village's limit stops a flood from
many addresses. See docs/architecture.md § Screening.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from fangkong.audit.services import client_ip
from fangkong.core.crypto import blind_index
from fangkong.org.models import Jurisdiction
from fangkong.screening import services

REPORTS_PER_PHONE = (10, 600)
REPORTS_PER_PHONE_DAY = (50, 86400)
REPORTS_PER_ID = (5, 600)
REPORTS_PER_ID_DAY = (20, 86400)
REPORTS_PER_NETWORK = (30, 600)
REPORTS_PER_NETWORK_DAY = (300, 86400)
REPORTS_PER_VILLAGE = (300, 3600)
LOOKUPS_PER_NETWORK = (30, 600)
LOOKUPS_PER_CODE = (5, 3600)

Limit = tuple[int, int]


def client_key(request: HttpRequest) -> str:
    return blind_index(client_ip(request) or "unknown")[:20]


def _submitter(kind: str, value: str) -> str:
    # Its own keyed hash: the counters cannot be joined to the registry's hash columns.
    return blind_index(f"public-limit:{kind}:{value}")[:20]


def refusing(checks: list[tuple[str, Limit]]) -> int:
    """Count one use against each limit in turn; the seconds until the first one that
    is exceeded frees up, or 0 when none is."""
    for key, (limit, seconds) in checks:
        if not services.hit(f"{key}:{seconds}", limit=limit, seconds=seconds):
            return seconds - int(timezone.now().timestamp()) % seconds
    return 0


def wait_words(seconds: int) -> str:
    if seconds > 3600:
        hours = -(-seconds // 3600)
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    minutes = max(1, -(-seconds // 60))
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


# A report: the village first (before anything is checked), then who sends it (phone and
# ID number, valid or not), then the network (valid reports only).


def village_refusal(village: Jurisdiction) -> int:
    return refusing([(f"report:village:{village.pk}", REPORTS_PER_VILLAGE)])


def village_busy() -> str:
    return _("Many reports are arriving for this village just now. Try again in %(wait)s.")


def submitter_refusal(phone: str | None, id_number: str | None) -> int:
    checks: list[tuple[str, Limit]] = []
    if phone:
        key = f"report:phone:{_submitter('phone', phone)}"
        checks += [(key, REPORTS_PER_PHONE), (key, REPORTS_PER_PHONE_DAY)]
    if id_number:
        key = f"report:id:{_submitter('id', id_number)}"
        checks += [(key, REPORTS_PER_ID), (key, REPORTS_PER_ID_DAY)]
    return refusing(checks)


def submitter_busy() -> str:
    return _(
        "This phone number or ID number was just used for many reports. Try again in "
        "%(wait)s; the reports already sent are kept."
    )


def network_refusal(request: HttpRequest) -> int:
    client = client_key(request)
    return refusing(
        [
            (f"report:ip:{client}", REPORTS_PER_NETWORK),
            (f"report:ipday:{client}", REPORTS_PER_NETWORK_DAY),
        ]
    )


def network_busy() -> str:
    return _(
        "Many reports have come from this network just now. Try again in %(wait)s, or "
        "use your phone's mobile data."
    )


# A status lookup: the network first, then the code asked about.


def lookup_network_refusal(request: HttpRequest) -> int:
    return refusing([(f"status:ip:{client_key(request)}", LOOKUPS_PER_NETWORK)])


def lookup_code_refusal(code: str) -> int:
    return refusing([(f"status:code:{code[:12]}", LOOKUPS_PER_CODE)])


def lookups_busy() -> str:
    return _("Too many lookups just now. Try again in %(wait)s.")
