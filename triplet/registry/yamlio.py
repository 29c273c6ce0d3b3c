"""Read YAML keeping line numbers, and map pydantic errors back to the lines they concern.

Every registry file is parsed with ruamel.yaml's round-trip loader, which records the line and
column of each key and list item. :func:`parse_yaml` returns the plain Python data (for pydantic)
together with that line map, and turns every way a file can be unreadable (missing, not UTF-8,
YAML syntax, duplicate keys, recursive aliases, impossible dates) into :class:`Problem` objects
instead of exceptions. :func:`validation_problems` turns a pydantic ``ValidationError`` into one
``Problem`` per error, at the line of the offending key and with its dotted field path.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from triplet.errors import Problem
from triplet.registry.models import ID_PATTERN, MONTH_PATTERN

__all__ = ["ParsedYaml", "parse_yaml", "validation_problems"]

MAX_DEPTH = 60  # deeper than any registration; guards the converters against pathological input


@dataclass(frozen=True)
class ParsedYaml:
    """A parsed YAML document: plain ``data`` plus the round-trip ``doc`` that knows its lines."""

    file: str
    data: Any
    doc: Any
    text: str

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """1-based line of the deepest key or item of ``path`` present in the file."""
        return _line_of(self.doc, path)


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.allow_duplicate_keys = True  # found by our own walk so that every duplicate is reported
    return y


def parse_yaml(
    path: str | Path, *, label: str | None = None
) -> tuple[ParsedYaml | None, list[Problem]]:
    """Parse ``path``; return ``(parsed, problems)``. ``parsed`` is None if unreadable.

    ``label`` is the file name used in problems (default: ``str(path)``).
    """
    path = Path(path)
    file = label or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(file=file, message="file not found")]
    except IsADirectoryError:
        return None, [Problem(file=file, message="is a folder, not a file")]
    except OSError as exc:
        return None, [Problem(file=file, message=f"cannot read: {exc.strerror or exc}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = yaml_line(raw[: exc.start].decode("utf-8", errors="replace"))
        return None, [Problem(file=file, line=line, message="not UTF-8 text (binary file?)")]
    return parse_yaml_text(text, file=file)


_YAML_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def yaml_line(before: str) -> int:
    """The 1-based line at the end of ``before``, counting line breaks as the YAML reader does:
    CR LF, a lone CR, LF, NEL, LS and PS each end a line (so a line number given for a raw
    position agrees with the parser's own marks)."""
    return len(_YAML_BREAK.findall(before)) + 1


def parse_yaml_text(text: str, *, file: str) -> tuple[ParsedYaml | None, list[Problem]]:
    """Parse YAML ``text`` (see :func:`parse_yaml`)."""
    if "\x00" in text:
        line = yaml_line(text[: text.index("\x00")])
        return None, [Problem(file=file, line=line, message="not YAML text (contains NUL bytes)")]
    y = _yaml()
    try:
        node = y.compose(text)
        problems = _duplicate_keys(node, file) if node is not None else []
        if problems:
            return None, problems
        # construct from the composed nodes (parsing twice would double the cost)
        doc = y.constructor.construct_document(node) if node is not None else None
    except MarkedYAMLError as exc:
        return None, [_syntax_problem(exc, file)]
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        position = getattr(exc, "position", None)  # ReaderError: a character YAML refuses
        line = yaml_line(text[:position]) if isinstance(position, int) else None
        return None, [Problem(file=file, line=line, message=f"not valid YAML: {first}")]
    except RecursionError:
        return None, [Problem(file=file, message="not valid YAML: nested too deeply")]
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. 2023-02-30 read as a date
        return None, [Problem(file=file, message=f"not valid YAML: {exc}")]
    except Exception as exc:  # the parser's own bugs, e.g. `!!set` on a scalar (AttributeError)
        return None, [
            Problem(file=file, message=f"not valid YAML: the parser failed ({type(exc).__name__})")
        ]
    try:
        data = _plain(doc, 0, set())
    except _Unsupported as exc:
        return None, [Problem(file=file, message=f"not supported in a registration: {exc}")]
    return ParsedYaml(file=file, data=data, doc=doc, text=text), []


def _syntax_problem(exc: MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    parts = [p for p in (exc.context, exc.problem) if p]
    message = "; ".join(" ".join(str(p).split()) for p in parts) or type(exc).__name__
    if exc.context_mark is not None and exc.problem_mark is not None:
        started = exc.context_mark.line + 1
        if started != line:
            message += f" (the construct started on line {started})"
    return Problem(file=file, line=line, message=f"YAML syntax error: {message}")


def _duplicate_keys(root: Node, file: str) -> list[Problem]:
    problems: list[Problem] = []
    stack: list[tuple[Node, tuple[str, ...], int]] = [(root, (), 0)]
    seen_nodes: set[int] = set()
    while stack:
        node, path, depth = stack.pop()
        if id(node) in seen_nodes or depth > MAX_DEPTH:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value) if not isinstance(key_node.value, list) else None
                line = key_node.start_mark.line + 1
                if key is not None and key in first:
                    field = ".".join([*path, key])
                    problems.append(
                        Problem(
                            file=file,
                            line=line,
                            field=field,
                            message=f"duplicate key (first given on line {first[key]})",
                        )
                    )
                elif key is not None:
                    first[key] = line
                stack.append((value_node, (*path, key or "?"), depth + 1))
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, (*path, str(i)), depth + 1))
    return sorted(problems, key=lambda p: p.line or 0)


class _Unsupported(Exception):
    pass


def _plain(obj: Any, depth: int, active: set[int]) -> Any:
    """Convert ruamel's round-trip types into plain dict/list/int/float/str/bool/date."""
    if depth > MAX_DEPTH:
        raise _Unsupported("nested too deeply")
    if isinstance(obj, Mapping | list | tuple | set | frozenset):
        if id(obj) in active:
            raise _Unsupported("a recursive alias (an anchor that contains itself)")
        active = active | {id(obj)}
    if isinstance(obj, Mapping):
        return {_key(k): _plain(v, depth + 1, active) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_plain(v, depth + 1, active) for v in obj]
    if isinstance(obj, TaggedScalar):
        return str(obj.value)
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, dt.datetime):
        return obj if obj.time() != dt.time(0) else obj.date()
    if isinstance(obj, dt.date):
        return obj
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    return str(obj)


def _key(k: Any) -> str:
    if isinstance(k, str):
        return str(k)
    if k is None:
        return "null"
    if isinstance(k, bool):
        return "true" if k else "false"
    return str(k)


def _line_of(doc: Any, path: Sequence[str | int]) -> int | None:
    node = doc
    line: int | None = 1 if isinstance(doc, CommentedMap | CommentedSeq) else None
    if isinstance(doc, CommentedMap | CommentedSeq):
        with_lc = getattr(doc, "lc", None)
        if with_lc is not None and with_lc.line is not None:
            line = with_lc.line + 1
    for part in path:
        if isinstance(node, CommentedMap):
            key = _find_key(node, part)
            if key is _MISSING:
                break
            try:
                line = node.lc.key(key)[0] + 1
            except (KeyError, TypeError, AttributeError):
                break
            node = node[key]
        elif isinstance(node, CommentedSeq):
            try:
                i = int(part)
            except (TypeError, ValueError):
                break
            if not 0 <= i < len(node):
                break
            try:
                line = node.lc.item(i)[0] + 1
            except (KeyError, TypeError, AttributeError, IndexError):
                break
            node = node[i]
        else:
            break
    return line


_MISSING = object()


def _find_key(node: CommentedMap, part: str | int) -> Any:
    if part in node:
        return part
    for k in node:
        if _key(k) == str(part):
            return k
    return _MISSING


# --- pydantic errors -> problems -------------------------------------------------------------

_PATTERN_MESSAGES = {
    MONTH_PATTERN: "should be a month written YYYY-MM, e.g. 2024-01",
    ID_PATTERN: "should be a lower-case slug of 3-64 letters, digits and hyphens, e.g. "
    "hotspot-patrol",
}

_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
}


def validation_problems(
    exc: ValidationError,
    parsed: ParsedYaml,
    model: type[BaseModel] | None = None,
    prefix: Sequence[str | int] = (),
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, at the line of the field it concerns.

    Errors from the members of a union (pydantic adds the member type to ``loc``) are merged into
    one problem per field. ``model`` (the validated class) lets unknown keys suggest the
    nearest field name.
    """
    merged: dict[tuple[str, ...], list[str]] = {}
    lines: dict[tuple[str, ...], int | None] = {}
    for error in exc.errors(include_url=False):
        loc = list(prefix) + list(error.get("loc", ()))
        path = _data_path(parsed.data, loc, error.get("type", ""))
        key = tuple(str(p) for p in path)
        message = _message(error, path, model, prefix)
        merged.setdefault(key, [])
        if message not in merged[key]:
            merged[key].append(message)
        lines[key] = parsed.line_of(path)
    problems = [
        Problem(
            file=parsed.file,
            line=lines[key],
            field=".".join(key) if key else None,
            message=_join(msgs),
        )
        for key, msgs in merged.items()
    ]
    return sorted(problems, key=lambda p: (p.line or 0, p.field or ""))


def _join(messages: list[str]) -> str:
    """Merge the messages of one field (union members), showing a shared '(got x)' once."""
    if len(messages) == 1:
        return messages[0]
    tails = {m[m.rfind(" (got ") :] if " (got " in m else "" for m in messages}
    if len(tails) == 1 and "" not in tails:
        tail = tails.pop()
        return " or ".join(m[: -len(tail)] for m in messages) + tail
    return " or ".join(messages)


def _data_path(data: Any, loc: Sequence[Any], error_type: str) -> list[str | int]:
    """The part of pydantic's ``loc`` that names keys and items of the data (drops union tags)."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and str(part) in node:
            path.append(str(part))
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif last and error_type == "missing" and isinstance(node, dict):
            path.append(str(part))
        elif isinstance(part, str) and _looks_like_union_tag(part):
            continue
        elif isinstance(node, dict | list):
            path.append(part)
            node = None
    return path


def _looks_like_union_tag(part: str) -> bool:
    return (
        any(c in part for c in "[]'|")
        or part[:1].isupper()
        or part in {"str", "int", "float", "bool", "date", "none"}
    )


def _message(
    error: Mapping[str, Any],
    path: Sequence[str | int],
    model: type[BaseModel] | None,
    prefix: Sequence[str | int],
) -> str:
    kind = error.get("type", "")
    if kind in _MESSAGES:
        msg = _MESSAGES[kind]
        if kind == "extra_forbidden" and model is not None and path:
            allowed = _fields_at(model, list(path[len(prefix) :])[:-1])
            if allowed:
                close = difflib.get_close_matches(str(path[-1]), allowed, n=1, cutoff=0.6)
                msg += (
                    f" (did you mean {close[0]!r}?)"
                    if close
                    else (f" (allowed here: {', '.join(allowed)})")
                )
        return msg
    pattern = (error.get("ctx") or {}).get("pattern")
    if kind == "string_pattern_mismatch" and pattern in _PATTERN_MESSAGES:
        return f"{_PATTERN_MESSAGES[pattern]} (got {_show(error.get('input'))})"
    if kind == "string_type" and isinstance(error.get("input"), dt.date):
        return (
            f"should be text, but YAML read a date (got {_show(error['input'])}); write a month "
            "as YYYY-MM, or quote the value"
        )
    msg = str(error.get("msg", "invalid value"))
    for lead in ("Value error, ", "Assertion failed, "):
        if msg.startswith(lead):
            msg = msg[len(lead) :]
    if kind not in {"value_error", "assertion_error"} and "input" in error:
        shown = _show(error["input"])
        if shown is not None:
            msg += f" (got {shown})"
    return msg


def _show(value: Any) -> str | None:
    if isinstance(value, dict | list):
        return None
    text = repr(value) if isinstance(value, str) else str(value)
    if isinstance(value, dt.date):
        text = value.isoformat()
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_at(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """Field names of the model found at ``path`` inside ``model`` (empty if unknown)."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(part, int):
            args = [a for a in typing.get_args(current) if a is not type(None)]
            if typing.get_origin(current) in (list, tuple) and args:
                current = args[0]
                continue
            return []
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip ``X | None`` to ``X`` (one model member of a union)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if len(models) == 1:
            return models[0]
        if len(members) == 1:
            return members[0]
    return annotation
