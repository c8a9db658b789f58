"""Gates as code: the definitions as a YAML file, read with the line of every node, so that each problem is
reported as `FILE:LINE: message` (also for YAML syntax errors), and written back in a stable, readable form.

`parse_yaml_document` serves every admin-owned YAML file (the regulation questionnaire too): each brings its own
`problems_in` (a JSON Schema plus the checks a schema cannot express)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from bot.services.errors import InvalidInput
from bot.services.gates.document import Path_, Problem, normalised, problems_in
from bot.services.validation import clean_strings


@dataclass(frozen=True)
class FileProblem:
    line: int
    message: str


class InvalidGatesFile(InvalidInput):
    """The file cannot be applied. `problems` lists every problem found, as `FILE:LINE: message` lines."""

    def __init__(self, filename: str, problems: list[FileProblem]) -> None:
        self.filename = filename
        self.problems = sorted(problems, key=lambda p: p.line)
        self.lines = [f"{filename}:{p.line}: {p.message}" for p in self.problems]
        count = len(self.lines)
        tail = "" if count == 1 else f" (and {count - 1} more problem{'s' if count > 2 else ''})"
        super().__init__(self.lines[0] + tail)


class _Loader(yaml.SafeLoader):
    """Safe YAML, except that dates stay text: the JSON Schema and the checks judge them, with a line number."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class _Located:
    value_line: int
    key_line: int


def parse_gates_yaml(text: str, *, filename: str,
                     also: Callable[[dict[str, Any]], list[Problem]] | None = None) -> dict[str, Any]:
    """The gate definitions in `text`, checked completely; raises InvalidGatesFile naming every problem and its
    line. `also`: more checks, once the document itself is right (its controls against the catalog)."""
    def checks(document: Any) -> list[Problem]:
        return problems_in(document) or (also(document) if also else [])

    return parse_yaml_document(text, filename=filename, problems_in=checks, export_hint="initiative-bot gates export")


def parse_yaml_document(text: str, *, filename: str, problems_in: Callable[[Any], list[Problem]],
                        export_hint: str) -> dict[str, Any]:
    """The document in `text`, checked completely by `problems_in`; raises InvalidGatesFile naming every problem
    and its line. `export_hint`: the command that writes a file to start from."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise InvalidGatesFile(filename, [FileProblem(1, f"the file is empty; `{export_hint}` writes one "
                                                             "to start from")])
        lines: dict[Path_, _Located] = {}
        duplicates: list[FileProblem] = []
        _index(root, (), lines, duplicates, key_line=root.start_mark.line + 1)
        document = clean_strings(normalised(loader.construct_document(root)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise InvalidGatesFile(filename, [FileProblem(line, f"YAML syntax error: {problem}")]) from None
    finally:
        loader.dispose()
    if duplicates:
        raise InvalidGatesFile(filename, duplicates)
    problems = problems_in(document)
    if problems:
        raise InvalidGatesFile(filename, [FileProblem(_line_of(p, lines), p.message) for p in problems])
    return document


def _index(node: yaml.Node, path: Path_, lines: dict[Path_, _Located], duplicates: list[FileProblem],
           *, key_line: int) -> None:
    lines[path] = _Located(value_line=node.start_mark.line + 1, key_line=key_line)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                duplicates.append(FileProblem(key_node.start_mark.line + 1, f"'{key}' appears twice in the same "
                                                                            f"mapping; keep one"))
            seen.add(key)
            _index(value_node, (*path, key), lines, duplicates, key_line=key_node.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, (*path, position), lines, duplicates, key_line=item.start_mark.line + 1)


def _line_of(problem: Problem, lines: dict[Path_, _Located]) -> int:
    """The line of the deepest node on the problem's path that the file has."""
    path = problem.path
    while path not in lines:
        path = path[:-1]
    located = lines[path]
    return located.key_line if problem.at_key and path == problem.path else located.value_line


# --- writing --------------------------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """Small mappings of plain values (a stage, a checklist item) on one line, like the default template."""

    def ignore_aliases(self, data: Any) -> bool:
        return True  # a checklist two stages share is written out twice, never as an &id001 anchor


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = bool(data) and all(isinstance(v, str | int | bool | float) or v is None for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(v, str | int) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def dump_gates_yaml(document: dict[str, Any], *, header: str = "") -> str:
    """The document as YAML that `parse_gates_yaml` reads back to an equal document."""
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comments + body
