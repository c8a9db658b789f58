"""What pseudonymisation relies on: renaming a person everywhere (text, lists, keys) keeps the hashed form."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.services.audit.chain import ChainFields, canonical, ref_replacements, replace_people

PEOPLE = ["UBIZ", "W0DATA", "U123ABC"]
_pieces = st.sampled_from([*PEOPLE, "UBIZX", "xUBIZ", "<@", ">", " ", "\n", "\t", "\\", '"', "é", "\x01", "a",
                           "Z", "9", "-", "ZZ", "person:"])
_text = st.lists(_pieces, max_size=6).map("".join)
_json = st.recursive(st.none() | st.booleans() | st.integers() | _text,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
                     max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(actor=_text, subject=_text, before=_json, after=_json, erased=st.sampled_from(PEOPLE))
@example(actor="UBIZ", subject="", before={"UBIZ": 1, "UBIZX": 2}, after=None, erased="UBIZ")  # keys re-sort
def test_renaming_a_person_everywhere_keeps_the_canonical_form(actor, subject, before, after, erased):
    refs = {person: f"REF{number}" for number, person in enumerate(PEOPLE)}
    original = ChainFields("T0TEST", 7, datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), actor, "test.changed", "test",
                           subject, None, 1, before, after)
    pseudonym = "UERASEDREF"
    renamed = ChainFields(*(replace_people(value, {erased: pseudonym}) if index in (3, 6, 9, 10) else value
                            for index, value in enumerate(vars(original).values())))
    refs_after = {(pseudonym if person == erased else person): ref for person, ref in refs.items()}

    assert canonical(renamed, ref_replacements(refs_after)) == canonical(original, ref_replacements(refs))


@settings(max_examples=200, deadline=None)
@given(before=_json, after=_json)
def test_a_different_person_gives_a_different_canonical_form(before, after):
    refs = ref_replacements({"UBIZ": "REF0", "W0DATA": "REF1"})
    as_maria = ChainFields("T0TEST", 1, datetime(2026, 1, 1, tzinfo=UTC), "UBIZ", "a", "t", "k", None, None,
                           before, after)
    as_dev = ChainFields(*(("W0DATA" if name == "actor" else value) for name, value in vars(as_maria).items()))
    assert canonical(as_maria, refs) != canonical(as_dev, refs)
