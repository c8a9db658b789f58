"""The shared input rules: what every stored text loses, what a title needs, and the field each refusal names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.text import tokenize
from bot.services.errors import InvalidInput
from bot.services.gates.catalog import default_document
from bot.services.gates.yaml_file import InvalidGatesFile, dump_gates_yaml, parse_gates_yaml
from bot.services.validation import (
    BUSINESS_UNIT,
    INITIATIVE_TEXTS,
    SPOOFING_CHARACTERS,
    TAGS,
    TITLE,
    check_user_id,
    clean_characters,
    clean_reason,
    clean_tags,
    clean_text,
    clean_title,
)

PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # needs its zero-width non-joiner
FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # one emoji, joined by zero-width joiners
ANY_TEXT = st.text(alphabet=st.one_of(st.characters(blacklist_categories=("Cs",)),
                                      st.sampled_from(sorted(SPOOFING_CHARACTERS))), max_size=200)


def test_the_characters_that_spoof_display_are_dropped_and_the_joiners_kept() -> None:
    expected = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200B, 0x2060, 0xFEFF]}
    assert expected == SPOOFING_CHARACTERS
    assert clean_characters("invoice\u202efdp.exe") == "invoicefdp.exe"
    assert clean_characters("a\u2066b\u2069\ufeffc\u2060d\u200be\x00\r\nf\tg") == "abcde\nf\tg"
    assert clean_characters(f"{PERSIAN} {FAMILY}") == f"{PERSIAN} {FAMILY}"
    assert [t.text for t in tokenize(f"new \u202eAlpha\u200b {PERSIAN}")] == ["new", "Alpha", PERSIAN]


@pytest.mark.parametrize(("title", "message"), [
    ("", "A title is required."),
    ("\u200b", "A title is required."),
    ("\u202e \ufeff\u2060", "A title is required."),
    ("\u3164\u200d", "The title has only invisible characters; type words people can see, like Churn prediction "
                     "for retail."),
    ("\u0301\u2800", "The title has only invisible characters"),
    ("x" * 151, "The title is 151 characters long; keep it within 150."),
])
def test_a_title_needs_something_people_can_see(title: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as refused:
        clean_title(title)
    assert refused.value.field == "title"


def test_a_title_keeps_every_visible_script_and_drops_only_what_spoofs() -> None:
    assert clean_title(f" \u202e{PERSIAN}\u200b  {FAMILY} ") == f"{PERSIAN} {FAMILY}"
    assert clean_title("x" * 150 + "\u200b" * 10) == "x" * 150  # counted after cleaning


def test_each_refusal_names_its_field() -> None:
    with pytest.raises(InvalidInput, match="The team or business unit is 101 characters long") as refused:
        clean_text("u" * 101, BUSINESS_UNIT)
    assert refused.value.field == "business_unit"
    with pytest.raises(InvalidInput) as refused:
        clean_reason("\u200b \u2060", what="reason for the waiver")
    assert (str(refused.value), refused.value.field) == ("Please give a reason for the waiver.", "reason")
    with pytest.raises(InvalidInput, match="is not a Slack user") as refused:
        check_user_id("maria", field="owners.data")
    assert refused.value.field == "owners.data"
    assert InvalidInput("no field").field is None


def test_tags_are_lower_case_once_each_and_together_within_the_tags_input() -> None:
    assert clean_tags(["Retail", " retail", "Gen\u200bAI", "\u202e", ""]) == ["genai", "retail"]
    assert clean_tags(["t" * TAGS.limit]) == ["t" * TAGS.limit]
    with pytest.raises(InvalidInput) as refused:
        clean_tags(["a" * 250, "b" * 250])
    assert (str(refused.value), refused.value.field) == (
        "The tags are 501 characters long together; keep them within 500.", "tags")


@given(text=ANY_TEXT)
def test_any_text_is_cleaned_or_refused_never_anything_else(text: str) -> None:
    for field in INITIATIVE_TEXTS.values():
        try:
            cleaned = clean_title(text) if field is TITLE else clean_text(text, field)
        except InvalidInput as refused:
            assert refused.field == field.name
            continue
        assert not SPOOFING_CHARACTERS & set(cleaned)
        assert len(cleaned) <= field.limit
    try:
        tags = clean_tags(text.split(","))
    except InvalidInput:
        return
    assert not SPOOFING_CHARACTERS & set(",".join(tags)) and len(",".join(tags)) <= TAGS.limit


def test_gate_labels_from_a_yaml_file_are_cleaned_and_an_invisible_one_is_named_with_its_line() -> None:
    text = dump_gates_yaml(default_document())
    spoofed = text.replace("name: Pilot approval", "name: \"\\u202ePilot approval\\u200b\"", 1)
    assert spoofed != text
    document = parse_gates_yaml(spoofed, filename="gates.yml")
    assert document["gates"][0]["name"] == "Pilot approval"
    blank = text.replace("name: Pilot approval", "name: \"\\u200b\\u2060\"", 1)
    line = text[:text.index("name: Pilot approval")].count("\n") + 1
    with pytest.raises(InvalidGatesFile) as refused:
        parse_gates_yaml(blank, filename="gates.yml")
    assert refused.value.lines == [f"gates.yml:{line}: gates[0].name: must not be empty"]
