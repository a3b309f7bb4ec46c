"""The four roles of SPEC §1 and the permission matrix of SPEC §3, defined once.

Roles are Django groups (created by a data migration). Both the API permission class and the web
view mixin ask `can(user, action, resource)`, answered by the `rules` predicates registered in
radiopharmacy/core/rules.py from MATRIX below, so the two edges cannot disagree.

`can` asks the rules themselves, not `user.has_perm`: Django answers True to every `has_perm` of
an active superuser. The superuser and staff accounts are the administrator (users, products,
specifications, settings in the admin) and have no right in the domain beyond their groups' reads:
every domain write of theirs is refused (and logged, like any write outside one's role).
"""

from dataclasses import dataclass

import rules

RADIOPHARMACIST = "radiopharmacist"
QUALIFIED_PERSON = "qualified_person"
SCHEDULER = "scheduler"
AUDITOR = "auditor"
ALL_ROLES = (RADIOPHARMACIST, QUALIFIED_PERSON, SCHEDULER, AUDITOR)
ROLE_LABELS = {
    RADIOPHARMACIST: "Radiopharmacist",
    QUALIFIED_PERSON: "Qualified person",
    SCHEDULER: "Scheduler",
    AUDITOR: "Auditor",
}

VIEW = "view"
CHANGE = "change"


@dataclass(frozen=True)
class Rule:
    read: frozenset[str]
    write: frozenset[str]


def _rule(read=ALL_ROLES, write=()) -> Rule:
    return Rule(read=frozenset(read), write=frozenset(write))


# resource -> who reads, who writes. Auditors read everything and write nothing but their
# signed reviews of the audit trail.
MATRIX: dict[str, Rule] = {
    "decay": _rule(),
    "generators": _rule(write=[RADIOPHARMACIST]),
    "elutions": _rule(write=[RADIOPHARMACIST]),
    "batches": _rule(write=[RADIOPHARMACIST]),
    "qc_results": _rule(write=[RADIOPHARMACIST]),
    "specifications": _rule(),  # new versions go through the admin
    "release": _rule(write=[QUALIFIED_PERSON]),
    "certificates": _rule(),
    # quality events (SPEC §2.4a): the lab opens and investigates, the QP closes and recalls
    "deviations": _rule(write=[RADIOPHARMACIST, QUALIFIED_PERSON]),
    "deviation_close": _rule(write=[QUALIFIED_PERSON]),
    "capas": _rule(write=[RADIOPHARMACIST, QUALIFIED_PERSON]),
    "recall": _rule(write=[QUALIFIED_PERSON]),
    "lookback": _rule(),
    # quality analytics (SPEC §2.9): charts for all; the lab and the QP queue a quality review
    "trends": _rule(),
    "quality_reviews": _rule(write=[RADIOPHARMACIST, QUALIFIED_PERSON]),
    "bookings": _rule(write=[SCHEDULER]),
    "plans": _rule(write=[SCHEDULER]),
    "doses": _rule(write=[RADIOPHARMACIST]),
    "alerts": _rule(write=[RADIOPHARMACIST, QUALIFIED_PERSON, SCHEDULER]),
    "audit": _rule(read=[AUDITOR, QUALIFIED_PERSON]),
    # SPEC §2.8: the auditor or the QP signs the review of a period of the trail (the auditor's
    # only write); SPEC §2.10: the inspector export of a batch, for the same two roles
    "audit_reviews": _rule(read=[AUDITOR, QUALIFIED_PERSON], write=[AUDITOR, QUALIFIED_PERSON]),
    "inspector_export": _rule(read=[AUDITOR, QUALIFIED_PERSON]),
}


def perm_name(action: str, resource: str) -> str:
    if resource not in MATRIX:
        raise KeyError(f"Unknown resource {resource!r}: add it to radiopharmacy.core.roles.MATRIX")
    return f"gallium.{action}_{resource}"


def user_roles(user) -> set[str]:
    """The role names of a user (cached on the instance for the request)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_gallium_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        user._gallium_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def is_administrator(user) -> bool:
    """Superuser or staff: the Django admin's accounts."""
    return bool(getattr(user, "is_superuser", False) or getattr(user, "is_staff", False))


def can(user, action: str, resource: str) -> bool:
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return False
    if action != VIEW and is_administrator(user):
        return False  # the administrator writes nothing in the domain, whatever its groups
    return rules.has_perm(perm_name(action, resource), user)
