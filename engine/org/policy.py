"""Who may do what: the one table of permissions and the account roles that hold them.

Every role check in the engine, the API and the pages asks `allows(person_or_roles, PERMISSION)`; the role names
are spelled here and nowhere else (tests/engine/test_policy.py greps engine/ and api/ to keep it so). A person holds
a permission when any of their account roles is listed for it. Account-less people (plain employees) hold none: what
they may do follows from the work itself (their own tasks, their own reports, groups they sit on).
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.store.models import Person

# --- the account roles -------------------------------------------------------------------------------------------
HR_ADMIN = "hr_admin"  # runs HR: people, accounts, cycles, calibration; does HR lane work nobody is partnered for
HR_PARTNER = "hr_partner"  # an HR business partner: cycle reports over the people partnered to them (engine/org/scope)
AUDITOR = "auditor"  # reads everything, changes nothing
ADMIN = "admin"  # everything HR may do, plus deploying script tasks
DESIGNER = "designer"  # designs and deploys diagrams, scripts included
ROLES = (HR_ADMIN, HR_PARTNER, AUDITOR, ADMIN, DESIGNER)  # every role an account may hold, in the order shown to users

# --- the permissions ---------------------------------------------------------------------------------------------
MANAGE = "manage"  # HR's work: import people, manage accounts and others' tokens, run cycles and calibration, incidents
READ_ALL = "read_all"  # read every task, instance, person, calibration group, report and the audit log; list tokens
READ_PARTNERED = "read_partnered"  # read cycle reports over the people partnered to one (engine/org/scope.py)
READ_SCOPED = "read_scoped"  # cycle reports and summaries: READ_ALL over the whole cycle, READ_PARTNERED over one's own
DEPLOY = "deploy"  # deploy diagrams (without script tasks)
DEPLOY_SCRIPTS = "deploy_scripts"  # deploy diagrams that contain script tasks
READ_DEFINITIONS = "read_definitions"  # read deployed definitions and their diagrams
HR_LANE = "hr_lane"  # do the work of the HR lane for people without an active HR partner (engine/process/lanes.py)
CLI_ACTOR = "cli_actor"  # whom the CLI acts as when no --as is given (the first active one)

# The order of each row is the order a refusal names the roles in ("This needs one of the roles: ...").
TABLE: dict[str, tuple[str, ...]] = {
    MANAGE: (HR_ADMIN, ADMIN),
    READ_ALL: (HR_ADMIN, AUDITOR, ADMIN),
    READ_PARTNERED: (HR_PARTNER,),
    READ_SCOPED: (HR_ADMIN, HR_PARTNER, AUDITOR, ADMIN),
    DEPLOY: (HR_ADMIN, DESIGNER, ADMIN),
    DEPLOY_SCRIPTS: (DESIGNER, ADMIN),
    READ_DEFINITIONS: (HR_ADMIN, DESIGNER, AUDITOR, ADMIN),
    HR_LANE: (HR_ADMIN,),
    CLI_ACTOR: (ADMIN, DESIGNER),
}
PERMISSIONS = tuple(TABLE)


def holders(permission: str) -> tuple[str, ...]:
    """The roles holding `permission`, in the table's order (KeyError for a permission not in the table)."""
    return TABLE[permission]


def roles_of(person_or_roles: Person | Iterable[str] | None) -> frozenset[str]:
    """The account roles of a person (none without an account), or the given role names as a set."""
    if person_or_roles is None:
        return frozenset()
    if isinstance(person_or_roles, Person):
        account = person_or_roles.account
        return frozenset(account.roles or []) if account is not None else frozenset()
    return frozenset(person_or_roles)


def allows(person_or_roles: Person | Iterable[str] | None, permission: str) -> bool:
    """True if the person (or the set of roles) holds `permission`: any of their roles is listed for it."""
    return not roles_of(person_or_roles).isdisjoint(holders(permission))
