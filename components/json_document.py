"""A JSON document (a policy) that holds a few `Output`s among plain values, as one string.

`pulumi.Output.json_dumps` lifts every value of the document into an `Output` of its own
(a policy has hundreds), which made serialising policies a large part of a plan. Here
only the `Output`s the document really holds are awaited, together, and the document is
written with `json.dumps` as `json_dumps` writes it: the same text, the same
dependencies, unknown in a preview when any of them is, secret when any of them is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pulumi


def _outputs(value: Any) -> Iterator[pulumi.Output[Any]]:
    if isinstance(value, pulumi.Output):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _outputs(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _outputs(item)


def _filled(value: Any, resolved: Iterator[Any]) -> Any:
    """`value` with each `Output` replaced by the next resolved value (the order of `_outputs`)."""
    if isinstance(value, pulumi.Output):
        return next(resolved)
    if isinstance(value, dict):
        return {key: _filled(item, resolved) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_filled(item, resolved) for item in value]
    return value


def json_document(document: dict[str, Any]) -> str | pulumi.Output[str]:
    """`document` as JSON text: a plain string when it holds no `Output`, else one `Output`."""
    outputs = list(_outputs(document))
    if not outputs:
        return json.dumps(document)
    return pulumi.Output.all(*outputs).apply(lambda values: json.dumps(_filled(document, iter(values))))
