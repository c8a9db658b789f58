"""Who is an admin: ADMIN_USER_IDS, admins added in the app (audited), Slack workspace admins when enabled."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.services.access.actors import WorkspaceRoles
from bot.services.access.admins import add_admin, list_admins, remove_admin, resolve_actor
from bot.services.errors import Conflict, InvalidInput, PermissionDenied
from storage.models import AppAdmin, AuditEvent
from tests.support.factories import TEAM, actor

CONFIGURED = frozenset({"UADMIN"})


def _resolve(runtime, user_id, *, team_id=TEAM, **kwargs):
    with runtime.transaction() as session:
        return resolve_actor(team_id=team_id, user_id=user_id, admin_user_ids=CONFIGURED, admin_user_ids_team=TEAM,
                             session=session, **kwargs)


def test_admin_user_ids_are_admins_of_the_token_workspace_only(runtime):
    assert _resolve(runtime, "UADMIN").is_admin
    assert not _resolve(runtime, "UADMIN", team_id="T0OTHER").is_admin


def test_an_admin_added_in_the_app_is_an_admin_until_removed(runtime):
    assert not _resolve(runtime, "UMARIA").is_admin
    with runtime.transaction() as session:
        add_admin(session, actor=_resolve(runtime, "UADMIN"), user_id="UMARIA")
    assert _resolve(runtime, "UMARIA").is_admin
    with runtime.transaction() as session:
        entries = list_admins(session, team_id=TEAM, admin_user_ids=CONFIGURED)
        assert [(e.user_id, e.source, e.added_by) for e in entries] == [("UADMIN", "settings", None),
                                                                      ("UMARIA", "app", "UADMIN")]
        remove_admin(session, actor=actor("UMARIA", admin=True), user_id="UMARIA", admin_user_ids=CONFIGURED)
    assert not _resolve(runtime, "UMARIA").is_admin
    with runtime.transaction() as session:
        audit = session.exec(select(AuditEvent).where(AuditEvent.subject_type == "admin")
                             .order_by(AuditEvent.id)).all()
    assert [(a.action, a.actor, a.subject_key, a.before, a.after) for a in audit] == [
        ("admin.added", "UADMIN", "UMARIA", None, {"user_id": "UMARIA", "admin": True}),
        ("admin.removed", "UMARIA", "UMARIA", {"user_id": "UMARIA", "admin": True}, {"admin": False}),
    ]


def test_non_admins_cannot_add_or_remove_admins(runtime):
    with pytest.raises(PermissionDenied) as caught, runtime.transaction() as session:
        add_admin(session, actor=actor("UBIZ"), user_id="UBIZ")
    assert str(caught.value) == "Only an admin can add admins."
    with runtime.transaction() as session:
        add_admin(session, actor=actor("UADMIN", admin=True), user_id="UMARIA")
    with pytest.raises(PermissionDenied), runtime.transaction() as session:
        remove_admin(session, actor=actor("UBIZ"), user_id="UMARIA", admin_user_ids=CONFIGURED)
    with runtime.transaction() as session:
        assert [a.user_id for a in session.exec(select(AppAdmin))] == ["UMARIA"]
        assert len(session.exec(select(AuditEvent).where(AuditEvent.subject_type == "admin")).all()) == 1


def test_admin_changes_that_make_no_sense_are_refused(runtime):
    boss = actor("UADMIN", admin=True)
    with runtime.transaction() as session:
        add_admin(session, actor=boss, user_id="UMARIA")
    with pytest.raises(Conflict, match=r"^<@UMARIA> is already an admin\.$"), runtime.transaction() as session:
        add_admin(session, actor=boss, user_id="UMARIA")
    with pytest.raises(InvalidInput) as caught, runtime.transaction() as session:
        remove_admin(session, actor=boss, user_id="UADMIN", admin_user_ids=CONFIGURED)
    assert str(caught.value) == "<@UADMIN> is an admin through ADMIN_USER_IDS; remove them from that setting."
    with pytest.raises(InvalidInput), runtime.transaction() as session:
        add_admin(session, actor=boss, user_id="maria")


def test_slack_workspace_admins_count_only_when_enabled(runtime):
    looked_up: list[str] = []

    def users_info(user_id):
        looked_up.append(user_id)
        return {"id": user_id, "is_admin": user_id == "UWSADMIN", "is_owner": user_id == "UOWNER"}

    assert not _resolve(runtime, "UWSADMIN", users_info=users_info).is_admin
    assert looked_up == []
    assert _resolve(runtime, "UWSADMIN", users_info=users_info, slack_admins_are_admins=True).is_admin
    assert _resolve(runtime, "UOWNER", users_info=users_info, slack_admins_are_admins=True).is_admin
    assert not _resolve(runtime, "UBIZ", users_info=users_info, slack_admins_are_admins=True).is_admin
    assert _resolve(runtime, "UADMIN", users_info=users_info, slack_admins_are_admins=True).is_admin
    assert looked_up == ["UWSADMIN", "UOWNER", "UBIZ"]  # configured admins need no lookup


def test_a_workspace_role_is_remembered_for_a_while_per_workspace_and_asked_again_after():
    now = [1000.0]
    roles = WorkspaceRoles(ttl=300, clock=lambda: now[0])
    slack_says = {("T1", "UWSADMIN"): True}  # an admin of workspace T1 only
    asked: list[tuple[str, str]] = []

    def users_info_of(team_id):
        def users_info(user_id):
            asked.append((team_id, user_id))
            return {"id": user_id, "is_admin": slack_says.get((team_id, user_id), False), "is_owner": False}
        return users_info

    def is_workspace_admin(team_id, user_id):
        return bool(roles.remembering(team_id, users_info_of(team_id))(user_id)["is_admin"])

    assert is_workspace_admin("T1", "UWSADMIN") and is_workspace_admin("T1", "UWSADMIN")
    assert not is_workspace_admin("T2", "UWSADMIN")  # another workspace, asked on its own
    slack_says[("T1", "UWSADMIN")] = False  # demoted in Slack
    now[0] += 299
    assert is_workspace_admin("T1", "UWSADMIN")  # still remembered
    now[0] += 2
    assert not is_workspace_admin("T1", "UWSADMIN")  # asked again: no longer an admin
    assert asked == [("T1", "UWSADMIN"), ("T2", "UWSADMIN"), ("T1", "UWSADMIN")]
