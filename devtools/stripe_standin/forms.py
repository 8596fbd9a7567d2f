"""Decode Stripe's form encoding (``a[b][0][c]=v``) into nested dicts and lists."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """A body that no Stripe client would send, such as a key used as both value and dict."""


def _split_key(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    return [head, *_KEY_PART.findall("[" + rest)]


def _listify(node: Any) -> Any:
    # Arrays arrive as dicts keyed "0", "1", ... (or "" for the ``a[]`` form used in query
    # strings); only once every key is known can we tell a list from a dict.
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    if list(converted) == ["[]"]:
        return converted["[]"]
    return converted


def decode(body: str) -> dict[str, Any]:
    """Turn an urlencoded body or query string into the params dict stripe-python started from.

    Values stay strings (the wire carries no types); the engine coerces what it reads.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = _split_key(key)
        node = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part == "":
                # ``expand[]=a&expand[]=b`` appends, so it collects into a list under "[]".
                bucket = node.setdefault("[]", [])
                if not isinstance(bucket, list) or not last:
                    raise FormError(f"Invalid array key: {key}")
                bucket.append(value)
                break
            if last:
                if isinstance(node.get(part), dict):
                    raise FormError(f"Invalid parameter shape: {key}")
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise FormError(f"Invalid parameter shape: {key}")
                node = child
    return _listify(root)
