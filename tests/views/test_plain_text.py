"""The one renderer of Block Kit and mrkdwn as text: what a person reads in Slack, with no raw markup left."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.views.plain_text import Reader, format_date, render_blocks, render_message, render_mrkdwn
from bot.views.text import escape, slack_date

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday
READER = Reader(zone=BERLIN, people={"U0MARIA": "Maria"}, channels={"C0PORT": "ai-portfolio"}, now=NOW)


def test_mentions_channels_and_links_read_as_names_and_text_with_its_url() -> None:
    text = "<@U0MARIA> asked <@U0NOBODY|dev> in <#C0PORT> and <#C0GONE|old>: see <https://x.example/a|the card>"
    assert render_mrkdwn(text, READER) == (
        "@Maria asked @dev in #ai-portfolio and #old: see the card (https://x.example/a)")
    assert render_mrkdwn("<https://x.example/a> <!here> <!subteam^S1|@ml-team>", READER) == (
        "https://x.example/a @here @ml-team")


def test_bold_italics_code_and_emoji_lose_their_markers_and_entities_are_unescaped() -> None:
    text = "*AI-1* is _late_ :warning: run `/initiative show AI-1` — " + escape("a <b> & c")
    assert render_mrkdwn(text, READER) == "AI-1 is late ⚠️ run /initiative show AI-1 — a <b> & c"
    assert render_mrkdwn("2*3*4 and snake_case_name stay", READER) == "2*3*4 and snake_case_name stay"


def test_bold_is_ansi_bold_on_a_terminal_that_shows_it() -> None:
    assert render_mrkdwn("*Due* soon", Reader(ansi=True)) == "\x1b[1mDue\x1b[0m soon"


def test_dates_are_in_words_in_the_readers_zone_saying_the_zone() -> None:
    due = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)  # 17:00 in Berlin
    assert render_mrkdwn(f"Due {slack_date(due)}", READER) == "Due Dec 10, 2026 at 17:00 CET"
    assert render_mrkdwn(slack_date(NOW), READER) == "today at 10:00 CET"
    assert render_mrkdwn(slack_date(due), Reader(zone=ZoneInfo("Asia/Kolkata"))) == "Dec 10, 2026 at 21:30 IST"
    assert format_date(due, "{date_long_pretty}", READER) == "Thursday, December 10th, 2026"
    assert format_date(datetime(2026, 12, 6, 12, tzinfo=UTC), "{date_pretty}", READER) == "yesterday"
    assert format_date(datetime(2026, 12, 4, 9, tzinfo=UTC), "{ago}", READER) == "3 days ago"
    assert render_mrkdwn("<!date^notanumber^{date}|the fallback>", READER) == "the fallback"


def test_blocks_read_top_to_bottom_with_fields_as_label_and_value_and_buttons_in_brackets() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Sign-off requested: AI-1 · *Churn*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Your role*\nData owner"},
                                       {"type": "mrkdwn", "text": "*Due*\n" + slack_date(NOW)}]},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U0MARIA>"}]},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Approve"}},
                                         {"type": "button", "text": {"type": "plain_text", "text": "View"}}]},
    ]
    assert render_blocks(blocks, READER).splitlines() == [
        "Sign-off requested: AI-1 · *Churn*",  # plain_text is shown as typed
        "Your role: Data owner", "Due: today at 10:00 CET", "─" * 40, "by @Maria", "[Approve]  [View]"]


def test_a_message_without_blocks_is_its_text_and_a_modal_starts_with_its_title() -> None:
    assert render_message({"text": "Hi <@U0MARIA>"}, READER) == "Hi @Maria"
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Approve sign-off"}, "blocks": [
        {"type": "input", "optional": True, "label": {"type": "plain_text", "text": "Waive items"},
         "element": {"type": "multi_static_select", "options": [
             {"text": {"type": "plain_text", "text": "A"}, "value": "a"}]}},
        {"type": "actions", "elements": [{"type": "checkboxes", "initial_options": [{"value": "a"}], "options": [
            {"text": {"type": "plain_text", "text": "A"}, "value": "a"},
            {"text": {"type": "plain_text", "text": "B"}, "value": "b"}]}]},
    ]}
    assert render_message(modal, READER).splitlines() == [
        "Approve sign-off", "Waive items (optional)", "  [choose: A]", "  ☑ A", "  ☐ B"]
