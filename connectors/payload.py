"""Reading a provider's JSON body defensively: malformed or hostile input is a 400, never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

from inbox.channel import InvalidInbound


def json_object(body: bytes, max_depth: int) -> dict[str, Any]:
    """The body as a JSON object no deeper than `max_depth`; InvalidInbound otherwise."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInbound("body is not valid JSON") from exc
    except RecursionError as exc:
        raise InvalidInbound("JSON is nested too deeply") from exc
    if not isinstance(data, dict):
        raise InvalidInbound("body must be a JSON object")
    if depth(data) > max_depth:
        raise InvalidInbound(f"JSON is nested deeper than {max_depth} levels")
    if SURROGATE_ESCAPE.search(body) and not _encodable(data):
        # JSON may escape half a UTF-16 pair; no database can store that text.
        raise InvalidInbound("JSON text holds an unpaired UTF-16 surrogate (\\uD800-\\uDFFF)")
    return data


# Only bodies that escape a surrogate can decode to one, so most bodies skip the walk.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _encodable(value: Any) -> bool:
    """Whether every string in `value` (keys too) is valid Unicode text."""
    level = [value]
    while level:
        deeper: list[Any] = []
        for item in level:
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return False
            elif isinstance(item, dict):
                deeper.extend(item.keys())
                deeper.extend(item.values())
            elif isinstance(item, list):
                deeper.extend(item)
        level = deeper
    return True


def depth(value: Any) -> int:
    """How many levels of objects and arrays `value` nests (breadth-first, no recursion)."""
    levels, level = 0, [value]
    while level:
        levels += 1
        deeper: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                deeper.extend(item.values())
            elif isinstance(item, list):
                deeper.extend(item)
        level = deeper
    return levels - 1


def field(
    data: Any, key: str, kind: type | tuple[type, ...], where: str, default: Any = None
) -> Any:
    """`data[key]` checked to be of `kind`; `default` when absent; InvalidInbound otherwise."""
    if not isinstance(data, dict):
        raise InvalidInbound(f"{where} must be an object")
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
        raise InvalidInbound(f"{where}.{key} has the wrong type")
    return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
