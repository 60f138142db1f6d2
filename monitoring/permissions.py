"""Who may do what in monitoring: the app's table of actions and roles, declared to
``core.permissions`` (services, the API, the pages and the admin ask there)."""

from core.permissions import declare
from incidents.permissions import ACTION_ROLES as INCIDENT_ACTIONS
from organisation.roles import Role

ACTION_ROLES: dict[str, frozenset[str]] = {
    # Watch rules, trying expressions, and the sensitive-term lists.
    "write_rules": frozenset({Role.ANALYST, Role.OFFICE_HEAD, Role.SYSADMIN}),
    # Posts sent by crawlers, feeds and imports.
    "ingest_posts": frozenset({Role.DUTY_OFFICER, Role.ANALYST, Role.OFFICE_HEAD, Role.SYSADMIN}),
    # Accepting a proposal logs an incident: those who may log one decide.
    "decide_proposal": INCIDENT_ACTIONS["log"],
}
declare(ACTION_ROLES)
