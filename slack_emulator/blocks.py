"""Block Kit checks that the emulator applies to messages and views, the way Slack's API does.

slack_sdk's typed models catch schema errors (unknown types, missing required fields), but they silently
drop unknown keys and skip several documented limits, so a payload they accept can still be rejected
by Slack. The functions here add what is missing. Every error is a readable sentence that ends with
Slack's `[json-pointer:...]` suffix.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final, Literal

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS: Final[Mapping[Surface, int]] = {"message": 50, "modal": 100, "home": 100}

# Documented limits that slack_sdk does not enforce, as (kind, path, max). A node's kind is its `type`,
# or "option" for option objects, which have no type. "*" as a kind matches every node; as a path
# segment it matches every list item.
TEXT_LIMITS: Final[tuple[tuple[str, str, int], ...]] = (
    ("*", "block_id", 255),
    ("*", "action_id", 255),
    ("*", "placeholder/text", 150),
    ("section", "text/text", 3000),
    ("section", "fields/*/text", 2000),
    ("header", "text/text", 150),
    ("input", "label/text", 2000),
    ("input", "hint/text", 2000),
    ("button", "text/text", 75),
    ("button", "value", 2000),
    ("button", "url", 3000),
    ("option", "text/text", 75),
    ("option", "value", 150),
    ("option", "description/text", 75),
    ("plain_text_input", "initial_value", 3000),
)
ITEM_LIMITS: Final[tuple[tuple[str, str, int], ...]] = (
    ("section", "fields", 10),
    ("context", "elements", 10),
    ("actions", "elements", 25),
    ("checkboxes", "options", 10),
    ("radio_buttons", "options", 10),
    ("overflow", "options", 5),
    ("static_select", "options", 100),
    ("multi_static_select", "options", 100),
)
# Fields that Slack only accepts as plain_text, although slack_sdk lets mrkdwn through.
PLAIN_TEXT_ONLY: Final[tuple[tuple[str, str], ...]] = (
    ("header", "text"),
    ("button", "text"),
    ("input", "label"),
    ("input", "hint"),
    ("*", "placeholder"),
)
VIEW_TEXT_LIMITS: Final[tuple[tuple[str, int], ...]] = (
    ("title/text", 24),
    ("submit/text", 24),
    ("close/text", 24),
    ("private_metadata", 3000),
    ("callback_id", 255),
    ("external_id", 255),
)
# A valid stand-in so that View() checks only the view's own fields; its blocks are checked separately.
_PLACEHOLDER_BLOCKS: Final = [{"type": "divider"}]
_SDK_ERRORS: Final = (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError)


def validate_blocks(blocks: object, surface: Surface = "message", *, pointer: str = "/blocks") -> list[str]:
    """Return Slack-style errors for `blocks` shown on `surface`; an empty list means valid."""
    if not isinstance(blocks, list):
        return [_error("must be an array of blocks", pointer)]
    errors: list[str] = []
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        errors.append(
            _error(f"must contain at most {limit} blocks on a {surface} (got {len(blocks)})", pointer)
        )
    seen_block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, Mapping):
            errors.append(_error("must be an object", where))
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen_block_ids:
                errors.append(_error(f"duplicate block_id {block_id!r}", f"{where}/block_id"))
            seen_block_ids.add(block_id)
        errors.extend(_sdk_block_errors(block, where))
        errors.extend(_limit_errors(block, where))
    return errors


def validate_view(view: object, surface: Literal["modal", "home"] | None = None) -> list[str]:
    """Return Slack-style errors for a view payload (as sent to views.open/update/push/publish)."""
    if not isinstance(view, Mapping):
        return [_error("must be an object", "/view")]
    view_type = view.get("type")
    if view_type not in ("modal", "home") or (surface is not None and view_type != surface):
        expected = surface or "modal or home"
        return [_error(f"type must be {expected} (got {view_type!r})", "/view/type")]
    errors: list[str] = []
    for path, limit in VIEW_TEXT_LIMITS:
        for where, value in _lookup(view, path, "/view"):
            errors.extend(_max_chars(value, limit, where))
    blocks = view.get("blocks", [])
    if isinstance(blocks, list) and not blocks:
        errors.append(_error("must contain at least 1 block", "/view/blocks"))
    has_inputs = isinstance(blocks, list) and any(
        isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
    )
    if view_type == "modal" and has_inputs and not view.get("submit"):
        errors.append(_error("must provide a submit property when using input blocks", "/view/submit"))
    errors.extend(_sdk_view_errors(view))
    errors.extend(validate_blocks(blocks, view_type, pointer="/view/blocks"))
    return _unique(errors)


def _sdk_block_errors(block: Mapping[str, Any], where: str) -> list[str]:
    try:
        parsed = Block.parse(copy.deepcopy(dict(block)))
        if parsed is None:
            return [_error(f"unknown block type {block.get('type')!r}", f"{where}/type")]
        rendered = parsed.to_dict()  # to_dict() runs validate_json() first
    except _SDK_ERRORS as exc:
        return [_error(_sdk_message(exc), where)]
    return [_error(problem, path) for path, problem in _differences(block, rendered, where)]


def _sdk_view_errors(view: Mapping[str, Any]) -> list[str]:
    fields = {**copy.deepcopy(dict(view)), "blocks": _PLACEHOLDER_BLOCKS}
    try:
        rendered = View(**fields).to_dict()
    except _SDK_ERRORS as exc:
        return [_error(_sdk_message(exc), "/view")]
    return [_error(problem, path) for path, problem in _differences(fields, rendered, "/view")]


def _differences(sent: Any, rendered: Any, where: str) -> Iterator[tuple[str, str]]:
    """Where slack_sdk's round trip changed the payload: it drops what it does not know; Slack rejects it."""
    if isinstance(sent, Mapping):
        if not isinstance(rendered, Mapping):
            yield where, f"invalid value {sent!r}"
            return
        for key, value in sent.items():
            if key in rendered:
                yield from _differences(value, rendered[key], f"{where}/{key}")
            elif value not in ("", [], {}, None):
                # slack_sdk also drops empty values; only a dropped non-empty one is a key it does not know.
                yield f"{where}/{key}", "invalid additional property"
    elif isinstance(sent, list):
        if not isinstance(rendered, list) or len(rendered) != len(sent):
            yield where, "invalid array"
            return
        for index, (item, out) in enumerate(zip(sent, rendered, strict=True)):
            if out is None and isinstance(item, Mapping):
                yield f"{where}/{index}/type", f"unknown element type {item.get('type')!r}"
            else:
                yield from _differences(item, out, f"{where}/{index}")
    elif sent != rendered:
        yield where, f"invalid value {sent!r}"


def _limit_errors(block: Mapping[str, Any], where: str) -> Iterator[str]:
    for node, node_where in _nodes(block, where):
        kind = _kind(node)
        for limited_kind, path, limit in TEXT_LIMITS:
            if limited_kind in ("*", kind):
                for at, value in _lookup(node, path, node_where):
                    yield from _max_chars(value, limit, at)
        for limited_kind, path, limit in ITEM_LIMITS:
            items = node.get(path)
            if kind == limited_kind and isinstance(items, list) and len(items) > limit:
                yield _error(
                    f"{kind} {path} must have at most {limit} items (got {len(items)})",
                    f"{node_where}/{path}",
                )
        for limited_kind, path in PLAIN_TEXT_ONLY:
            text = node.get(path)
            if limited_kind in ("*", kind) and isinstance(text, Mapping) and text.get("type") != "plain_text":
                yield _error(f"{kind} {path} must be a plain_text object", f"{node_where}/{path}/type")


def _nodes(node: Any, where: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every object in a block, depth first, with its JSON pointer."""
    if isinstance(node, Mapping):
        yield node, where
        for key, value in node.items():
            yield from _nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _nodes(item, f"{where}/{index}")


def _kind(node: Mapping[str, Any]) -> str:
    if "type" in node:
        return str(node["type"])
    return "option" if "value" in node and "text" in node else ""


def _lookup(node: Any, path: str, where: str) -> Iterator[tuple[str, Any]]:
    head, _, rest = path.partition("/")
    if head == "*":
        children = list(enumerate(node)) if isinstance(node, list) else []
    else:
        children = [(head, node[head])] if isinstance(node, Mapping) and head in node else []
    for key, child in children:
        if rest:
            yield from _lookup(child, rest, f"{where}/{key}")
        else:
            yield f"{where}/{key}", child


def _max_chars(value: Any, limit: int, where: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [_error(f"must be at most {limit} characters (got {len(value)})", where)]
    return []


def _sdk_message(exc: Exception) -> str:
    # Turn "ButtonElement.__init__() missing 1 required keyword-only argument: 'text'" into plain words.
    missing = re.search(r"missing \d+ required keyword-only arguments?: (.+)$", str(exc))
    return f"missing required field(s) {missing.group(1)}" if missing else str(exc)


def _error(message: str, pointer: str) -> str:
    return f"{message} [json-pointer:{pointer}]"


def _unique(errors: list[str]) -> list[str]:
    return list(dict.fromkeys(errors))
