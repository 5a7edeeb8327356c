"""Data contracts in the Open Data Contract Standard (ODCS), both ways.

The export lives in `infra.odcs_export`, the import in `infra.odcs_import`, the type
mapping between contracts and the clouds in `infra.odcs_types`, and the official JSON
Schemas that judge both in `infra.standard_schemas`. This module names what callers use.
"""

from __future__ import annotations

from infra.odcs_export import ODCS_API_VERSION, data_contract, logical_type
from infra.odcs_import import (
    ContractFile,
    Draft,
    check_draft,
    draft_request,
    locate_in_contract,
    read_contract,
    render_draft,
)

__all__ = [
    "ODCS_API_VERSION",
    "ContractFile",
    "Draft",
    "check_draft",
    "data_contract",
    "draft_request",
    "locate_in_contract",
    "logical_type",
    "read_contract",
    "render_draft",
]
