"""Reading a Conditional Go's conditions as a signer writes them: `text [@person] [by YYYY-MM-DD]`, one a line."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.errors import InvalidInput
from bot.services.tracked_items.conditions import DraftCondition, parse_conditions
from bot.services.tracked_items.service import ItemKey, parse_item_key

TODAY = date(2026, 12, 7)


def test_each_line_is_a_condition_with_its_person_and_date_when_given():
    assert parse_conditions(["Retraining pipeline in place <@UERIN|erin> by 2027-03-15", "",
                             "  DPIA signed before rollout beyond 5% of traffic  "], today=TODAY) == [
        DraftCondition("Retraining pipeline in place", "UERIN", date(2027, 3, 15)),
        DraftCondition("DPIA signed before rollout beyond 5% of traffic", None, None)]
    # "by" inside the text is words, not a date.
    assert parse_conditions(["Approved by legal"], today=TODAY) == [DraftCondition("Approved by legal")]


@pytest.mark.parametrize(("line", "why"), [
    ("Pipeline by 2027-02-30", "“2027-02-30” is not a date"),
    ("Pipeline by 15/03/2027", "“15/03/2027” is not a date"),
    ("Pipeline @erin", "“@erin” is not a Slack mention"),
    ("Pipeline <@UERIN> <@UDEV>", "name one person per condition"),
    ("<@UERIN> by 2027-03-15", "say what must be done"),
    ("Pipeline by 2026-12-07", "is not between tomorrow and two years from now"),
])
def test_a_line_that_cannot_be_read_is_named_under_the_field(line, why):
    with pytest.raises(InvalidInput) as refused:
        parse_conditions(["Fine line", line], today=TODAY)
    assert str(refused.value).startswith("Line 2 (“")
    assert why in str(refused.value) and refused.value.field == "conditions"


def test_item_ids_read_back():
    assert parse_item_key(" ai-7-c12 ") == ItemKey(7, "condition", 12)
    assert str(parse_item_key("AI-7-W1")) == "AI-7-W1"
    with pytest.raises(InvalidInput, match="like AI-7-C1"):
        parse_item_key("AI-7")
