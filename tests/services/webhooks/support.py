"""Builders shared by the evidence and MLflow tests: a review opened, a sign-off approved with links, an
automatic (MLflow) item added to the first gate."""

from __future__ import annotations

from bot.runtime import Runtime
from bot.services.gate_editing.service import current_document, save_definition
from bot.services.gates.yaml_file import dump_gates_yaml, parse_gates_yaml
from bot.services.initiatives.service import create_initiative
from bot.services.reviews import service as reviews
from storage.models import GateReview, SignOff
from tests.support.factories import TEAM, actor

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}


def open_review(runtime: Runtime, *, team_id: str = TEAM) -> tuple[str, int, dict[str, int]]:
    """(initiative key, review id, role -> sign-off id) of a new initiative submitted for its first gate."""
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ", team_id=team_id), title="Churn", owners=OWNERS)
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ", team_id=team_id), initiative=initiative)
        return initiative.key, review.id, {s.role: s.id for s in reviews.sign_offs_of(session, review_id=review.id)}


def approve(runtime: Runtime, sign_off_id: int, user: str, links: list[str], *, team_id: str = TEAM) -> None:
    with runtime.transaction() as session:
        sign_off = session.get(SignOff, sign_off_id)
        items = [i.id for i in reviews.checklist_of(session, sign_off, session.get(GateReview, sign_off.review_id))]
        reviews.approve(session, actor=actor(user, team_id=team_id), sign_off_id=sign_off_id, ticked=items,
                        evidence_links=links)


def with_mlflow_item(runtime: Runtime, check: dict[str, str], *, team_id: str = TEAM) -> None:
    """The engineering owner's checklist of the first gate gains an automatic item, and MLflow is configured."""
    admin = actor("UADMIN", admin=True, team_id=team_id)
    with runtime.transaction() as session:
        version, document = current_document(session, team_id=team_id)
        document["gates"][0]["checklist"]["engineering"].append(
            {"id": "champion-model", "label": "The model has a champion version", "check": check})
        # Gates as code round-trips the automatic item.
        assert parse_gates_yaml(dump_gates_yaml(document), filename="gates.yml") == document
        save_definition(session, actor=admin, document=document, based_on=version, comment="mlflow")
    runtime.settings = runtime.settings.model_copy(update={"mlflow_tracking_uri": "https://mlflow.example.com",
                                                           "mlflow_tracking_token": "tok"})
