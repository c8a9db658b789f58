"""`/initiative find`'s search, on SQLite (FTS5) and PostgreSQL (tsvector): ranked, over titles, tags, owners and
descriptions, following every write (edits, owners, names, imports), never showing a confidential initiative to an
outsider, and never failing on what a person types."""

from __future__ import annotations

import pytest

from bot.services.access.people import record_profile
from bot.services.access.visibility import Audience
from bot.services.audit.identity import pseudonymise, remember_identity
from bot.services.errors import InvalidInput
from bot.services.initiatives.search import MATCH_END, MATCH_START, search_initiatives, search_terms
from bot.services.initiatives.service import assign_owners, create_initiative, edit_initiative, get_initiative
from storage.types import utcnow
from tests.services.portfolio_io.support import import_file
from tests.support.factories import TEAM, actor

EVERYONE = Audience.person(team_id=TEAM, user_id="UREADER")


def _create(runtime, title, *, by="UBIZ", **kwargs) -> str:
    with runtime.transaction() as session:
        return create_initiative(session, actor=actor(by), title=title, **kwargs).key


def _find(runtime, *words, owners=(), audience=EVERYONE, limit=20) -> list[str]:
    with runtime.read() as session:
        found = search_initiatives(session, audience=audience, terms=search_terms(words, owners=owners), limit=limit)
        return [hit.initiative.key for hit in found.hits]


def test_a_title_match_ranks_above_a_description_only_match(runtime):
    described = _create(runtime, "Invoice OCR", description="Cuts churn among small business customers by routing "
                        "invoices faster, which the churn team asked for.")
    titled = _create(runtime, "Churn model")
    _create(runtime, "Fraud scoring", description="Nothing about leaving customers.")

    assert _find(runtime, "churn") == [titled, described]


def test_every_word_must_match_the_start_of_a_word_in_any_field(runtime):
    forecasting = _create(runtime, "Demand forecasting", tags=["retail", "supply-chain"])
    _create(runtime, "Demand sensing")

    assert _find(runtime, "forecast") == [forecasting]  # a prefix, case-insensitive
    assert _find(runtime, "DEMAND", "retail") == [forecasting]  # one word in the title, one in the tags
    assert _find(runtime, "chain") == [forecasting]  # a hyphenated tag is two words
    assert _find(runtime, "demand", "wholesale") == []


def test_both_backends_cut_text_into_the_same_words(runtime):
    key = _create(runtime, "Pricing v2.1", description="Lifts NPS by 3.5 points, see wiki.example.com or "
                  "ask data_team@example.com")

    for word in ("1", "5", "example", "wiki", "team", "data", "v2"):
        assert _find(runtime, word) == [key], word


def test_owners_are_found_by_the_name_the_bot_knows_and_by_mention(runtime):
    with runtime.transaction() as session:
        remember_identity(session, team_id=TEAM, user_id="UMARIA", display_name="Maria Lopez")
    marias = _create(runtime, "Churn model", owners={"business": "UMARIA"})
    _create(runtime, "Fraud scoring", owners={"business": "UDEV"})

    assert _find(runtime, "lopez") == [marias]
    assert _find(runtime, owners=["UMARIA"]) == [marias]
    assert _find(runtime, "churn", owners=["UDEV"]) == []

    with runtime.transaction() as session:  # Slack says she is now Maria Garcia; and Dev becomes an owner of AI-1
        record_profile(session, team_id=TEAM, user_id="UMARIA", tz=None, now=utcnow(), display_name="Maria Garcia")
        assign_owners(session, actor=actor("UADMIN", admin=True),
                      initiative=get_initiative(session, audience=EVERYONE, key=marias), owners={"data": "UDEV"})
    assert _find(runtime, "garcia") == [marias]
    assert _find(runtime, "lopez") == []
    assert sorted(_find(runtime, owners=["UDEV"])) == sorted([marias, "AI-2"])

    with runtime.transaction() as session:  # erased: neither her name nor her ID finds anything any more
        pseudonymise(session, team_id=TEAM, user_id="UMARIA")
    assert _find(runtime, "garcia") == [] and _find(runtime, owners=["UMARIA"]) == []


def test_the_index_follows_an_edit(runtime):
    key = _create(runtime, "Churn model", tags=["retail"])
    with runtime.transaction() as session:
        edit_initiative(session, actor=actor("UBIZ"), initiative=get_initiative(session, audience=EVERYONE, key=key),
                        title="Retention uplift", tags=["loyalty"], description="Keeps subscribers")

    assert _find(runtime, "retention") == [key] and _find(runtime, "loyalty") == [key]
    assert _find(runtime, "subscribers") == [key]
    assert _find(runtime, "churn") == [] and _find(runtime, "retail") == []


def test_imported_initiatives_are_found(runtime):
    outcome = import_file(runtime, "p.csv", "title,tags,business_owner\nInvoice OCR,finance,UMARIA\n")
    assert outcome.problems == []

    assert _find(runtime, "invoice", "finance") == ["AI-1"]
    assert _find(runtime, owners=["UMARIA"]) == ["AI-1"]


def test_a_confidential_initiative_is_found_only_by_those_who_may_see_it(runtime):
    hidden = _create(runtime, "Layoff risk model", by="USPONSOR", owners={"sponsor": "USPONSOR"}, confidential=True)
    open_ = _create(runtime, "Attrition risk dashboard")

    assert _find(runtime, "risk") == [open_]
    assert _find(runtime, "layoff") == []
    with runtime.read() as session:
        outsider = search_initiatives(session, audience=EVERYONE, terms=search_terms(["layoff"]), limit=5)
    assert outsider.total == 0  # not even counted
    sponsor = Audience.person(team_id=TEAM, user_id="USPONSOR")
    assert _find(runtime, "layoff", audience=sponsor) == [hidden]
    assert _find(runtime, "layoff", audience=Audience.admin(team_id=TEAM)) == [hidden]


def test_another_workspace_finds_nothing_of_this_one(runtime):
    _create(runtime, "Churn model")
    assert _find(runtime, "churn", audience=Audience.person(team_id="T0OTHER", user_id="UREADER")) == []


FOUND_AS_PLAIN_WORDS = {'"churn', 'churn"', '"churn model"', "churn*", "-churn", "(churn)", "{churn}", "churn\\",
                        "AI-1"}


@pytest.mark.parametrize("typed", [
    '"churn', 'churn"', '"churn model"', "churn*", "*", "-churn", "churn OR fraud", "NOT churn", "NEAR(churn",
    "churn AND", "title:churn", "owners : churn", "'; DROP TABLE initiative; --", "churn^2", "(churn)", "{churn}",
    "churn\\", "\u00e9t\u00e9", "%_", "AI-1",
    "\u00b2 \u2153 \u216b \u3007 \u00aa \uff10 \u0301",  # numbers, letters and marks the tokenizers may not keep
])
def test_search_syntax_in_what_was_typed_is_plain_text(runtime, typed):
    key = _create(runtime, "Churn model", description="Predicts which customers leave (AI 1 of the year)")

    if not search_terms([typed]):  # no letter or digit at all: refused with what to type
        with pytest.raises(InvalidInput, match="Say what to look for"):
            _find(runtime, typed)
        return
    found = _find(runtime, typed)

    # Every word of it must match: the operators' words are words too (so "churn OR fraud" needs "or" and "fraud").
    assert found == ([key] if typed in FOUND_AS_PLAIN_WORDS else [])


def test_nothing_to_look_for_is_refused_with_what_to_do():
    assert not search_terms(["*", '"', "-"])
    with pytest.raises(InvalidInput, match="at most 12 words"):
        search_terms([" ".join(f"w{n}" for n in range(13))])


def test_a_snippet_marks_the_words_found_in_the_description(runtime):
    _create(runtime, "Invoice OCR", description="Reads supplier invoices and flags the suspicious ones for review.")
    with runtime.read() as session:
        [hit] = search_initiatives(session, audience=EVERYONE, terms=search_terms(["suspicious"]), limit=5).hits
        [titled] = search_initiatives(session, audience=EVERYONE, terms=search_terms(["ocr"]), limit=5).hits
        [prefix] = search_initiatives(session, audience=EVERYONE, terms=search_terms(["suppl"]), limit=5).hits
    assert f"{MATCH_START}suspicious{MATCH_END}" in hit.snippet
    assert f"{MATCH_START}supplier{MATCH_END}" in prefix.snippet  # the whole word a prefix matched
    assert titled.snippet == ""  # the title says it; no description line to show


def test_the_best_matches_come_first_and_the_total_counts_them_all(runtime):
    keys = [_create(runtime, f"Churn model {n}") for n in range(5)]
    with runtime.read() as session:
        found = search_initiatives(session, audience=EVERYONE, terms=search_terms(["churn"]), limit=3)
    assert [hit.initiative.key for hit in found.hits] == keys[:3] and found.total == 5
