"""The risk classification questionnaire: a document admins own (the shape of `questionnaire.yml`), its checks,
and the rules that turn a set of answers into a tier.

Rules are tried in order and the first that matches wins. A rule matches when every condition under `all:` holds
and, if it has `any:`, at least one of those does; a condition is `question = answer`. When no rule matches, the
result is `needs-review`. Each derived tier maps to the risk tier that decides required sign-offs, or to `block`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from bot.services.gates.service import Path_, Problem, dump_gates_yaml, parse_yaml_document, schema_problems

SCHEMA_FILE = Path(__file__).with_name("questionnaire_schema.json")
SHIPPED_FILE = Path(__file__).with_name("questionnaire.yml")
DERIVED_TIERS = ("prohibited", "high", "limited", "minimal")
NEEDS_REVIEW = "needs-review"
BLOCK = "block"
# A modal holds at most 100 blocks: a header and a context per section, the intro, and one input per question.
MAX_QUESTIONS = 60
EXPORT_COMMAND = "initiative-bot questionnaire export"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    cites: str
    section: str


@dataclass(frozen=True)
class Condition:
    question: str
    answer: str

    @classmethod
    def parse(cls, text: str) -> Condition:
        question, _, answer = text.partition("=")
        return cls(question.strip(), answer.strip())

    def __str__(self) -> str:
        return f"{self.question} = {self.answer}"


@dataclass(frozen=True)
class Rule:
    id: str
    tier: str
    cites: str
    all: tuple[Condition, ...]
    any: tuple[Condition, ...]

    def matched_by(self, answers: Mapping[str, str]) -> tuple[Condition, ...] | None:
        """The conditions that made it match (every `all`, the `any` that held), or None when it does not."""
        if not all(answers.get(c.question) == c.answer for c in self.all):
            return None
        held = tuple(c for c in self.any if answers.get(c.question) == c.answer)
        if self.any and not held:
            return None
        return self.all + held


@dataclass(frozen=True)
class AppliesFrom:
    tier: str
    cites: str
    date: date
    what: str


@dataclass(frozen=True)
class Result:
    """What a set of answers classifies as, and why."""

    tier: str  # prohibited | high | limited | minimal | needs-review
    rule: Rule | None  # None: no rule matched
    reasons: tuple[tuple[Question, str], ...]  # the answers that led to it, each with its question

    def rationale(self, questionnaire: Questionnaire) -> list[dict[str, str]]:
        """Stored with the result: the rule and the answers behind it, each citing its article."""
        lines = [{"rule": self.rule.id, "cites": self.rule.cites} if self.rule else
                 {"rule": "", "cites": "", "note": "no rule matched these answers"}]
        lines += [{"question": q.id, "text": q.text, "answer": questionnaire.answer_label(a), "cites": q.cites}
                  for q, a in self.reasons]
        return lines


@dataclass(frozen=True)
class Questionnaire:
    version: int
    title: str
    disclaimer: str
    sections: tuple[tuple[str, tuple[Question, ...]], ...]
    answers: tuple[tuple[str, str], ...]  # (id, label)
    rules: tuple[Rule, ...]
    risk_tiers: Mapping[str, str]  # derived tier -> low | medium | high | block
    applies_from: tuple[AppliesFrom, ...]

    @classmethod
    def from_document(cls, document: Mapping[str, Any], *, version: int) -> Questionnaire:
        sections = tuple(
            (section["title"], tuple(Question(q["id"], q["text"], q["cites"], section["title"])
                                     for q in section["questions"]))
            for section in document["sections"])
        rules = tuple(Rule(r["id"], r["tier"], r["cites"], tuple(Condition.parse(c) for c in r.get("all", ())),
                           tuple(Condition.parse(c) for c in r.get("any", ()))) for r in document["rules"])
        return cls(version=version, title=document["title"], disclaimer=document["disclaimer"], sections=sections,
                   answers=tuple((a["id"], a["label"]) for a in document["answers"]), rules=rules,
                   risk_tiers=dict(document["risk_tiers"]),
                   applies_from=tuple(AppliesFrom(a["tier"], a["cites"], date.fromisoformat(a["date"]), a["what"])
                                      for a in document.get("applies_from", ())))

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for _, questions in self.sections for q in questions)

    def answer_label(self, answer_id: str) -> str:
        return dict(self.answers).get(answer_id, answer_id)

    def classify(self, answers: Mapping[str, str]) -> Result:
        """The first rule the answers match, or needs-review when none does."""
        by_id = {q.id: q for q in self.questions}
        for rule in self.rules:
            held = rule.matched_by(answers)
            if held is not None:
                return Result(rule.tier, rule, tuple((by_id[c.question], c.answer) for c in held))
        return Result(NEEDS_REVIEW, None, ())

    def effect_of(self, tier: str) -> str | None:
        """The risk tier a derived tier sets (low | medium | high), `block` (prohibited: the schema says so), or
        None (needs review: the risk tier stays)."""
        return self.risk_tiers.get(tier)

    def unanswered(self, answers: Mapping[str, str]) -> list[Question]:
        return [q for q in self.questions if q.id not in answers]

    def check_answers(self, answers: Mapping[str, str]) -> dict[str, str]:
        """Only the questions this version asks, each with one of its answers; returns the problems by question."""
        known = [a for a, _ in self.answers]
        asked = {q.id for q in self.questions}
        problems = {q: f"'{a}' is not an answer; choose one of {', '.join(known)}" for q, a in answers.items()
                    if q in asked and a not in known}
        problems |= {q: "this question is not in the questionnaire" for q in answers if q not in asked}
        return problems


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def shipped_document() -> dict[str, Any]:
    """The shipped questionnaire, freshly parsed (callers may keep and change it)."""
    return parse_questionnaire_yaml(SHIPPED_FILE.read_text(encoding="utf-8"), filename=SHIPPED_FILE.name)


def parse_questionnaire_yaml(text: str, *, filename: str) -> dict[str, Any]:
    """The questionnaire in `text`, checked completely; raises InvalidGatesFile naming every problem's line."""
    return parse_yaml_document(text, filename=filename, problems_in=problems_in, export_hint=EXPORT_COMMAND)


def dump_questionnaire_yaml(document: dict[str, Any], *, header: str = "") -> str:
    return dump_gates_yaml(document, header=header)


def problems_in(document: Any) -> list[Problem]:
    """Every problem: schema problems first; the rules' references only once the shape is right."""
    found = list(schema_problems(document, schema()))
    return found or list(_semantic_problems(document))


def _semantic_problems(document: dict[str, Any]) -> Iterator[Problem]:
    answer_ids = [a["id"] for a in document["answers"]]
    yield from _duplicates(answer_ids, [("answers", i, "id") for i in range(len(answer_ids))], "answer")
    question_paths = [(("sections", s, "questions", q, "id"), question["id"])
                      for s, section in enumerate(document["sections"])
                      for q, question in enumerate(section["questions"])]
    yield from _duplicates([qid for _, qid in question_paths], [p for p, _ in question_paths], "question")
    if len(question_paths) > MAX_QUESTIONS:
        yield Problem(("sections",), f"{len(question_paths)} questions do not fit in one Slack modal; ask at most "
                                     f"{MAX_QUESTIONS}")
    questions = {qid for _, qid in question_paths}
    rules = document["rules"]
    yield from _duplicates([r["id"] for r in rules], [("rules", i, "id") for i in range(len(rules))], "rule")
    for index, rule in enumerate(rules):
        if "all" not in rule and "any" not in rule:
            yield Problem(("rules", index), f"rule '{rule['id']}' has no conditions; give it `all:` or `any:`")
        for kind in ("all", "any"):
            for position, text in enumerate(rule.get(kind, ())):
                yield from _condition_problems(text, ("rules", index, kind, position), rule["id"], questions,
                                               answer_ids)
    for index, entry in enumerate(document.get("applies_from", ())):
        try:
            date.fromisoformat(entry["date"])
        except ValueError:
            yield Problem(("applies_from", index, "date"), f"'{entry['date']}' is not a real date")


def _condition_problems(text: str, path: Path_, rule_id: str, questions: set[str],
                        answers: list[str]) -> Iterator[Problem]:
    if text.count("=") != 1:
        yield Problem(path, f"rule '{rule_id}': '{text}' is not a condition; write it as question = answer, like "
                            "'art50-interaction = yes'")
        return
    condition = Condition.parse(text)
    if condition.question not in questions:
        yield Problem(path, f"rule '{rule_id}' asks about '{condition.question}', which is not a question id")
    elif condition.answer not in answers:
        yield Problem(path, f"rule '{rule_id}': '{condition.answer}' is not an answer; use one of "
                            f"{', '.join(answers)}")


def _duplicates(ids: list[str], paths: list[Path_], what: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for item_id, path in zip(ids, paths, strict=True):
        if item_id in seen:
            yield Problem(path, f"{what} id '{item_id}' is used twice; ids must be unique")
        seen.add(item_id)
