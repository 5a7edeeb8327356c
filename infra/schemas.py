"""JSON Schemas of mesh's documents, generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from infra.model.platform import PlatformConfig
from infra.model.request import DataProductRequest


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a `request` or `platform` document."""
    model = DataProductRequest if kind == "request" else PlatformConfig
    schema = model.model_json_schema(by_alias=True, mode="validation")
    title = (
        "mesh data product request (mesh/v1 DataProduct)"
        if kind == "request"
        else "mesh platform config (mesh.yaml)"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://mesh.dev/schemas/v1/{kind}.json",
        **schema,
        "title": title,
    }
