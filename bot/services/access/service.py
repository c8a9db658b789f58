"""Who acts and what they may see: the access domain's public face.

Internals: `actors` (the acting person and the admin check), `admins` (workspace admins), `delegation` (acting
for an absent owner), `people` (profiles, time zones, names) and `visibility` (who sees which initiative)."""

from bot.services.access.actors import Actor, UsersInfo, WorkspaceRoles, require_admin
from bot.services.access.admins import AdminEntry, add_admin, is_admin, list_admins, remove_admin, resolve_actor
from bot.services.access.delegation import (
    acting_for,
    active_delegations,
    current_delegation,
    delegate,
    delegates_of,
    delegators,
    end_delegation,
    on_behalf,
    parse_until,
)
from bot.services.access.people import (
    EXTERNAL_PERSON,
    GUEST,
    PROFILE_MAX_AGE,
    deactivated,
    display_name_of,
    parse_zone,
    record_profile,
    remember_names,
    stale_people,
    why_not_an_owner,
    zone_for,
    zones_of,
)
from bot.services.access.visibility import Audience, may_see, visible_to

__all__ = [
    "EXTERNAL_PERSON", "GUEST", "PROFILE_MAX_AGE", "Actor", "AdminEntry", "Audience", "UsersInfo", "WorkspaceRoles",
    "acting_for", "active_delegations", "add_admin", "current_delegation", "deactivated", "delegate", "delegates_of",
    "delegators", "display_name_of", "end_delegation", "is_admin", "list_admins", "may_see", "on_behalf",
    "parse_until", "parse_zone", "record_profile", "remember_names", "remove_admin", "require_admin", "resolve_actor",
    "stale_people", "visible_to", "why_not_an_owner", "zone_for", "zones_of"
]
