"""Roles and the permissions they grant: the one table the whole project consults.

A membership gives a user one role at one jurisdiction node, covering that node's
whole subtree. Views, API operations and services ask for a named permission; nothing
else in the code base knows which role may do what.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Perm(StrEnum):
    ORG_VIEW = "org.view"  # browse jurisdictions, staff and teams in scope
    ORG_MANAGE = "org.manage"  # create/edit/import jurisdiction nodes
    STAFF_MANAGE = "staff.manage"  # create staff, grant memberships
    TEAM_MANAGE = "team.manage"  # create teams, change members
    PII_UNMASK = "pii.unmask"  # see one record's ID number or phone in clear, with a purpose
    DATA_EXPORT = "data.export"  # download lists (masked unless unmask is also used)
    AUDIT_VIEW = "audit.view"  # browse the audit log of the subtree
    PEOPLE_VIEW = "people.view"  # the population registry in scope (masked)
    PEOPLE_EDIT = "people.edit"  # add and correct households and persons
    PEOPLE_IMPORT = "people.import"  # bulk import of the registry from spreadsheets
    # Everyone works the orders assigned to them; these two are about other people's.
    ORDERS_VIEW = "orders.view"  # work orders of the subtree, the 日清日结 board
    ORDERS_DISPATCH = "orders.dispatch"  # create, reassign, verify and cancel orders
    # Town-wide rules kept as data: escalation delays, and the modules' rules to come.
    RULES_MANAGE = "rules.manage"
    # Daily reports: read the reports, bulletins and the command dashboard of the subtree;
    # submit a village's report (at the village or above).
    REPORTS_VIEW = "reports.view"
    REPORTS_SUBMIT = "reports.submit"
    # Send a broadcast ("a letter to all villagers") to the subtree's staff and groups.
    BROADCAST = "notify.broadcast"
    # Outside channels (robots, the SMS gateway, their secrets), templates, delivery log.
    NOTIFY_MANAGE = "notify.manage"
    # Issue and revoke API keys of machine clients at a node (never with more
    # permissions than the issuer holds there).
    CLIENTS_MANAGE = "clients.manage"
    # Control (管控): see the people under control; make, change and staff their orders,
    # sites and transfers, and record their checks and tests; approve a release.
    CONTROL_VIEW = "control.view"
    CONTROL_MANAGE = "control.manage"
    CONTROL_RELEASE = "control.release"
    # Mass testing (核酸): see rounds, coverage and the not-tested lists; organise rounds
    # and act on positives; take samples (the sampler); send results (the lab).
    TESTING_VIEW = "testing.view"
    TESTING_MANAGE = "testing.manage"
    TESTING_SAMPLE = "testing.sample"
    TESTING_RESULTS = "testing.results"
    # Periodic testing of key occupations: name who works where in which occupation,
    # and chase the overdue (their lists are read with testing.view).
    TESTING_PERIODIC = "testing.periodic"
    # Vaccination (疫苗接种): see the doses, coverage and mobilisation lists; record and
    # import doses and contraindications, mobilise and arrange transport.
    VACCINATION_VIEW = "vaccination.view"
    VACCINATION_MANAGE = "vaccination.manage"
    # Zones (三区 / risk areas): see zones and the places below the micro-grid; register
    # places and delineate zones; lift a zone (the command post's decision).
    ZONES_VIEW = "zones.view"
    ZONES_MANAGE = "zones.manage"
    ZONES_LIFT = "zones.lift"
    # Households' requests (居民求助): see them and their response times; enter one
    # taken by phone or at the door, and record a hand-over to 120 or a hospital.
    ASSIST_VIEW = "assist.view"
    ASSIST_ENTER = "assist.enter"
    # Emergency response (应急处置): see plans, activations with their timelines and the
    # response level; edit plans, activate one (or a drill), mark steps done and switch
    # the level (the commander's). Whoever is called records their own arrival.
    RESPONSE_VIEW = "response.view"
    RESPONSE_MANAGE = "response.manage"
    # Places (场所码): see places, their scan counts, inspections and gatherings; register
    # places, enterprises' logs and gatherings, and print place codes; inspect places on
    # patrol (findings, rectification orders, penalties).
    PLACES_VIEW = "places.view"
    PLACES_MANAGE = "places.manage"
    PLACES_PATROL = "places.patrol"
    # Checkpoints (卡口): see posts, their logs, counts and rosters; set up posts and their
    # rosters; log at a post, check in to a shift, write and acknowledge a hand-over.
    CHECKPOINTS_VIEW = "checkpoints.view"
    CHECKPOINTS_MANAGE = "checkpoints.manage"
    CHECKPOINTS_LOG = "checkpoints.log"
    # Tracing (流调): see cases, their tracing records, contacts and the chain view; open
    # a case, find its contacts and put them under control.
    TRACING_VIEW = "tracing.view"
    TRACING_MANAGE = "tracing.manage"


StrOrPromise = str | Promise

# How each permission is named to a person (the API-key page's choices); the codes
# themselves are what the API and the code use.
PERM_LABELS: dict[Perm, StrOrPromise] = {
    Perm.ORG_VIEW: _("Browse jurisdictions, staff and teams"),
    Perm.ORG_MANAGE: _("Change the jurisdiction tree"),
    Perm.STAFF_MANAGE: _("Register staff and grant roles"),
    Perm.TEAM_MANAGE: _("Form teams and set their members"),
    Perm.PII_UNMASK: _("See an ID number or phone in full, with a purpose"),
    Perm.DATA_EXPORT: _("Download lists and feedback files"),
    Perm.AUDIT_VIEW: _("Read the audit log"),
    Perm.PEOPLE_VIEW: _("Read the population registry (masked)"),
    Perm.PEOPLE_EDIT: _("Add and correct households and persons"),
    Perm.PEOPLE_IMPORT: _("Import lists: the registry and pushed lists"),
    Perm.ORDERS_VIEW: _("Read work orders and sweeps"),
    Perm.ORDERS_DISPATCH: _("Create, reassign, verify and cancel work orders"),
    Perm.RULES_MANAGE: _("Manage rules, risk areas and editions"),
    Perm.REPORTS_VIEW: _("Read daily reports, bulletins and the dashboard"),
    Perm.REPORTS_SUBMIT: _("Submit a village's daily report"),
    Perm.BROADCAST: _("Send a broadcast"),
    Perm.NOTIFY_MANAGE: _("Manage channels, templates, webhooks and deliveries"),
    Perm.CLIENTS_MANAGE: _("Issue and revoke API keys"),
    Perm.CONTROL_VIEW: _("See the people under control"),
    Perm.CONTROL_MANAGE: _("Manage control orders, sites, checks and transfers"),
    Perm.CONTROL_RELEASE: _("Approve a release from control"),
    Perm.TESTING_VIEW: _("See testing rounds, coverage and results"),
    Perm.TESTING_MANAGE: _("Run testing rounds: points, recalls, cases"),
    Perm.TESTING_SAMPLE: _("Record samples into tubes"),
    Perm.TESTING_RESULTS: _("Send a lab's results"),
    Perm.TESTING_PERIODIC: _("Keep key-occupation workers and chase their overdue tests"),
    Perm.VACCINATION_VIEW: _("See vaccination records, coverage and mobilisation lists"),
    Perm.VACCINATION_MANAGE: _("Record and import doses, mobilise and arrange transport"),
    Perm.ZONES_VIEW: _("See zones and the places people live in"),
    Perm.ZONES_MANAGE: _("Register places and delineate zones"),
    Perm.ZONES_LIFT: _("Lift a zone"),
    Perm.ASSIST_VIEW: _("See households' requests and response times"),
    Perm.ASSIST_ENTER: _("Enter a household's request and its hand-over"),
    Perm.RESPONSE_VIEW: _("See emergency plans, activations and the response level"),
    Perm.RESPONSE_MANAGE: _("Edit and activate emergency plans, switch the response level"),
    Perm.PLACES_VIEW: _("See places, their scans, inspections and gatherings"),
    Perm.PLACES_MANAGE: _("Register places, enterprises' logs and gatherings"),
    Perm.PLACES_PATROL: _("Inspect places on patrol, record findings and penalties"),
    Perm.CHECKPOINTS_VIEW: _("See checkpoints, their logs, counts and rosters"),
    Perm.CHECKPOINTS_MANAGE: _("Set up checkpoints and their duty rosters"),
    Perm.CHECKPOINTS_LOG: _("Log at a checkpoint, check in and hand over a shift"),
    Perm.TRACING_VIEW: _("See cases, their contacts and the chain view"),
    Perm.TRACING_MANAGE: _("Open cases, find their contacts and put them under control"),
}


class Role(models.TextChoices):
    # The county's command post (县指挥部): a commander's powers over every town below,
    # and, at the top of the tree, over what serves every town (shared rules, templates).
    COUNTY_OFFICER = "county_officer", _("County officer")
    TOWN_COMMANDER = "town_commander", _("Town commander")
    TOWN_STAFF = "town_staff", _("Town staff")
    VILLAGE_CADRE = "village_cadre", _("Village cadre")
    GRID_LEADER = "grid_leader", _("Grid leader")
    GRID_WORKER = "grid_worker", _("Grid worker")
    MICROGRID_LEADER = "microgrid_leader", _("Micro-grid leader")
    VOLUNTEER = "volunteer", _("Volunteer")
    CHECKPOINT_CREW = "checkpoint_crew", _("Checkpoint crew")
    SAMPLER = "sampler", _("Sampler")
    LAB = "lab", _("Lab")
    MEDICAL_GROUP = "medical_group", _("Medical group")
    PATROL = "patrol", _("Patrol")
    SUPERVISOR = "supervisor", _("Supervisor")
    AUDITOR = "auditor", _("Auditor")
    SYSTEM_ADMIN = "system_admin", _("System administrator")


_FIELD = frozenset({Perm.ORG_VIEW})
_REGISTRY = frozenset({Perm.PEOPLE_VIEW, Perm.PEOPLE_EDIT})
_ORDERS = frozenset({Perm.ORDERS_VIEW, Perm.ORDERS_DISPATCH})
_REPORTS = frozenset({Perm.REPORTS_VIEW, Perm.REPORTS_SUBMIT, Perm.BROADCAST})
# Village cadres and grid workers keep their people's orders and checks; releasing is
# the commander's (county officers and commanders hold every permission).
_CONTROL = frozenset({Perm.CONTROL_VIEW, Perm.CONTROL_MANAGE})
_VACCINATION = frozenset({Perm.VACCINATION_VIEW, Perm.VACCINATION_MANAGE})
_CADRE = (
    frozenset(
        {Perm.ORG_VIEW, Perm.PII_UNMASK, Perm.DATA_EXPORT, Perm.TEAM_MANAGE, Perm.PEOPLE_IMPORT}
    )
    | _REGISTRY
    | _ORDERS
    | _CONTROL
    | {Perm.TESTING_VIEW, Perm.TESTING_PERIODIC}
    | _VACCINATION
    | {Perm.ZONES_VIEW, Perm.ASSIST_VIEW, Perm.ASSIST_ENTER, Perm.CHECKPOINTS_VIEW}
    | {Perm.PLACES_VIEW, Perm.PLACES_MANAGE}
)

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.COUNTY_OFFICER: frozenset(Perm) - {Perm.AUDIT_VIEW},
    Role.TOWN_COMMANDER: frozenset(Perm) - {Perm.AUDIT_VIEW},
    Role.TOWN_STAFF: frozenset(
        {
            Perm.ORG_VIEW,
            Perm.STAFF_MANAGE,
            Perm.TEAM_MANAGE,
            Perm.DATA_EXPORT,
            Perm.PII_UNMASK,
            Perm.PEOPLE_IMPORT,
        }
    )
    | _REGISTRY
    | _ORDERS
    | _REPORTS
    | _CONTROL
    | _VACCINATION
    | {Perm.TESTING_VIEW, Perm.TESTING_MANAGE, Perm.TESTING_PERIODIC}
    | {Perm.ZONES_VIEW, Perm.ZONES_MANAGE, Perm.ASSIST_VIEW, Perm.ASSIST_ENTER}
    | {Perm.RESPONSE_VIEW}
    | {Perm.PLACES_VIEW, Perm.PLACES_MANAGE, Perm.PLACES_PATROL}
    | {Perm.CHECKPOINTS_VIEW, Perm.CHECKPOINTS_MANAGE}
    | {Perm.TRACING_VIEW, Perm.TRACING_MANAGE},
    # A village's cadres follow its cases and contacts; tracing them is the town's.
    Role.VILLAGE_CADRE: _CADRE
    | _REPORTS
    | {Perm.STAFF_MANAGE, Perm.RESPONSE_VIEW, Perm.TRACING_VIEW},
    Role.GRID_LEADER: _CADRE,
    Role.GRID_WORKER: frozenset({Perm.ORG_VIEW, Perm.PII_UNMASK, Perm.ORDERS_VIEW})
    | _REGISTRY
    | _CONTROL
    | {Perm.TESTING_VIEW, Perm.VACCINATION_VIEW}
    | {Perm.ZONES_VIEW, Perm.ASSIST_VIEW, Perm.ASSIST_ENTER, Perm.PLACES_VIEW},
    Role.MICROGRID_LEADER: _FIELD
    | {Perm.PEOPLE_VIEW, Perm.ORDERS_VIEW, Perm.CONTROL_VIEW, Perm.ZONES_VIEW},
    # Volunteers work from tasks handed to them; they browse no registers.
    Role.VOLUNTEER: frozenset(),
    # The crew sees its post (recent plates, counts, roster) and logs there, checks in and
    # hands over; it neither browses the registry nor sets up posts or rosters.
    Role.CHECKPOINT_CREW: frozenset({Perm.CHECKPOINTS_VIEW, Perm.CHECKPOINTS_LOG}),
    # The sampler records samples at points of rounds around their node; the lab sends
    # results by barcode. Neither browses the registry.
    Role.SAMPLER: frozenset({Perm.TESTING_SAMPLE}),
    Role.LAB: frozenset({Perm.TESTING_RESULTS}),
    # The patrol group (巡查组) walks its routes: it sees the places and inspects them;
    # its rectification orders come to it as tasks (an assignee needs no permission).
    Role.PATROL: frozenset({Perm.PLACES_VIEW, Perm.PLACES_PATROL}),
    # The town's medical group (医疗组): hears of every fever of people under control, calls
    # them (unmasking, audited), records their checks and tests and approves releases.
    Role.MEDICAL_GROUP: frozenset(
        {
            Perm.ORG_VIEW,
            Perm.PEOPLE_VIEW,
            Perm.PII_UNMASK,
            Perm.ORDERS_VIEW,
            Perm.CONTROL_RELEASE,
            Perm.TESTING_VIEW,
            Perm.VACCINATION_VIEW,
            # The green channel's requests come to it; it records the hand-over to 120.
            Perm.ZONES_VIEW,
            Perm.ASSIST_VIEW,
            Perm.ASSIST_ENTER,
            Perm.RESPONSE_VIEW,
            # The tracing group works from the medical group: it traces cases' contacts.
            Perm.TRACING_VIEW,
            Perm.TRACING_MANAGE,
        }
    )
    | _CONTROL,
    Role.SUPERVISOR: frozenset(
        {
            Perm.ORG_VIEW,
            Perm.PEOPLE_VIEW,
            Perm.ORDERS_VIEW,
            Perm.REPORTS_VIEW,
            Perm.CONTROL_VIEW,
            Perm.TESTING_VIEW,
            Perm.VACCINATION_VIEW,
            Perm.ZONES_VIEW,
            Perm.ASSIST_VIEW,
            Perm.RESPONSE_VIEW,
            Perm.PLACES_VIEW,
            Perm.CHECKPOINTS_VIEW,
            Perm.TRACING_VIEW,
        }
    ),
    # Auditors read the audit trail; they neither change data nor unmask it.
    Role.AUDITOR: frozenset({Perm.ORG_VIEW, Perm.AUDIT_VIEW}),
    Role.SYSTEM_ADMIN: frozenset(Perm),
}


def permissions_for(role: str) -> frozenset[Perm]:
    return ROLE_PERMISSIONS.get(Role(role), frozenset())


# Which roles a holder of staff.manage may hand out. Nobody grants a role above their
# own level, and only system administrators create commanders, auditors or admins.
_FIELD_ROLES = frozenset(
    {Role.GRID_LEADER, Role.GRID_WORKER, Role.MICROGRID_LEADER, Role.VOLUNTEER}
)
_TOWN_GRANTS = _FIELD_ROLES | {
    Role.TOWN_STAFF,
    Role.VILLAGE_CADRE,
    Role.CHECKPOINT_CREW,
    Role.SAMPLER,
    Role.MEDICAL_GROUP,
    Role.PATROL,
    Role.SUPERVISOR,
}
GRANTABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.SYSTEM_ADMIN: frozenset(Role),
    Role.COUNTY_OFFICER: _TOWN_GRANTS | {Role.TOWN_COMMANDER},
    Role.TOWN_COMMANDER: _TOWN_GRANTS,
    Role.TOWN_STAFF: _TOWN_GRANTS - {Role.TOWN_STAFF},
    Role.VILLAGE_CADRE: _FIELD_ROLES,
}


def grantable_by(role: str) -> frozenset[Role]:
    """A machine client's grant has no role (""): it hands out none."""
    return GRANTABLE_ROLES.get(Role(role), frozenset()) if role else frozenset()
