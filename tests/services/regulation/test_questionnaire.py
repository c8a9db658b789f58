"""The shipped questionnaire and its rules: every tier is reached, first match wins, "needs review" when unsure
or when no rule matches, and a file with a mistake is refused at its line. Structure, not law: the shipped
mapping is a screening aid that counsel has not reviewed."""

from __future__ import annotations

import pytest

from bot.services.gates.yaml_file import InvalidGatesFile
from bot.services.regulation.questionnaire import (
    NEEDS_REVIEW,
    SHIPPED_FILE,
    Questionnaire,
    dump_questionnaire_yaml,
    parse_questionnaire_yaml,
    shipped_document,
)


@pytest.fixture(scope="module")
def shipped() -> Questionnaire:
    return Questionnaire.from_document(shipped_document(), version=1)


def all_no(questionnaire: Questionnaire, **answers: str) -> dict[str, str]:
    return {q.id: "no" for q in questionnaire.questions} | {k.replace("_", "-"): v for k, v in answers.items()}


@pytest.mark.parametrize(("answers", "tier", "rule", "effect"), [
    ({"art5_social_scoring": "yes", "annex3_employment": "yes"}, "prohibited", "prohibited-practice", "block"),
    ({"annex1_safety_component": "yes"}, "high", "annex1-product", "high"),
    ({"annex3_essential_services": "yes"}, "high", "annex3-no-exception", "high"),
    ({"annex3_employment": "yes", "art6_3_exception": "yes", "art6_3_profiling": "yes"}, "high", "annex3-profiling",
     "high"),
    ({"annex3_education": "yes", "art6_3_exception": "yes", "art50_interaction": "yes"}, "limited", "transparency",
     "medium"),
    ({"gpai_provider": "yes"}, "limited", "gpai-model", "medium"),
    ({}, "minimal", "minimal", "low"),
    ({"art5_biometric": "unsure"}, NEEDS_REVIEW, "prohibited-unsure", None),
    ({"annex3_migration": "yes", "art6_3_exception": "unsure"}, NEEDS_REVIEW, "annex3-exception-unsure", None),
])
def test_each_tier_is_reached_by_the_first_matching_rule(shipped, answers, tier, rule, effect):
    result = shipped.classify(all_no(shipped, **answers))

    assert (result.tier, result.rule.id if result.rule else None) == (tier, rule)
    assert shipped.effect_of(result.tier) == effect


def test_the_rationale_names_the_answers_that_led_to_the_tier_with_their_articles(shipped):
    result = shipped.classify(all_no(shipped, annex3_employment="yes", art6_3_exception="no"))

    rule, *answers = result.rationale(shipped)
    assert rule == {"rule": "annex3-no-exception", "cites": "Art. 6(2) and Annex III"}
    assert [(a["question"], a["answer"], a["cites"]) for a in answers] == [
        ("art6-3-exception", "No", "Art. 6(3)(a) to (d)"), ("annex3-employment", "Yes", "Annex III point 4")]


def test_answers_no_rule_matches_need_review(shipped):
    unanswered = {"art50-interaction": "unsure"}  # Art. 50 unsure: neither transparency nor minimal holds

    result = shipped.classify(all_no(shipped) | unanswered)

    assert (result.tier, result.rule, result.reasons) == (NEEDS_REVIEW, None, ())
    assert result.rationale(shipped)[0]["note"] == "no rule matched these answers"


def test_the_shipped_questionnaire_covers_the_structure_of_the_act(shipped):
    titles = [title for title, _ in shipped.sections]
    assert titles == ["Prohibited practices (Art. 5)", "Products under Annex I (Art. 6(1))",
                      "High-risk areas (Art. 6(2) and Annex III)", "Exceptions for Annex III systems (Art. 6(3))",
                      "Transparency (Art. 50)", "General-purpose AI models (Chapter V)"]
    assert [q.cites for q in shipped.questions if q.id.startswith("annex3-")] == [
        f"Annex III point {n}" for n in range(1, 9)]
    assert "not legal advice" in shipped.disclaimer
    assert {a.tier for a in shipped.applies_from} == {"prohibited", "high", "limited"}  # dates are data


def test_an_export_reads_back_to_the_same_document():
    document = shipped_document()

    assert parse_questionnaire_yaml(dump_questionnaire_yaml(document), filename="q.yml") == document


def shipped_text() -> str:
    return SHIPPED_FILE.read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_rule_about_an_unknown_question_is_refused_at_its_line():
    text = shipped_text().replace("any: [gpai-provider = yes]", "any: [gpai-providr = yes]")

    with pytest.raises(InvalidGatesFile) as refused:
        parse_questionnaire_yaml(text, filename="q.yml")

    assert refused.value.lines == [f"q.yml:{line_of(text, 'gpai-providr')}: rule 'gpai-model' asks about "
                                   "'gpai-providr', which is not a question id"]


def test_shape_errors_and_bad_conditions_are_each_refused_at_their_line():
    text = (shipped_text().replace("prohibited: block,", "prohibited: high,")
            .replace("any: [gpai-provider = yes]", "any: [gpai-provider is yes]"))

    with pytest.raises(InvalidGatesFile) as refused:
        parse_questionnaire_yaml(text, filename="q.yml")

    assert refused.value.lines == [f"q.yml:{line_of(text, 'risk_tiers:')}: risk_tiers.prohibited: must be block"]
    text = shipped_text().replace("any: [gpai-provider = yes]", "any: [gpai-provider is yes]")
    with pytest.raises(InvalidGatesFile) as refused:
        parse_questionnaire_yaml(text, filename="q.yml")
    assert refused.value.lines == [f"q.yml:{line_of(text, 'gpai-provider is yes')}: rule 'gpai-model': "
                                   "'gpai-provider is yes' is not a condition; write it as question = answer, like "
                                   "'art50-interaction = yes'"]
