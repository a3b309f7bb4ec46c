"""Registers one `rules` permission per (action, resource) of the role matrix."""

import rules

from radiopharmacy.core.roles import CHANGE, MATRIX, VIEW, user_roles


def _member_of(roles: frozenset[str]):
    @rules.predicate
    def predicate(user) -> bool:
        return bool(user_roles(user) & roles)

    return predicate


for _resource, _rule in MATRIX.items():
    rules.add_perm(f"gallium.{VIEW}_{_resource}", _member_of(_rule.read))
    rules.add_perm(f"gallium.{CHANGE}_{_resource}", _member_of(_rule.write))
