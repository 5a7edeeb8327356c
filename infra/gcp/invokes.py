"""What offline synthesis answers for the GCP data sources mesh's programs call."""

from __future__ import annotations

from typing import Any

from infra.model.graph import placeholder
from infra.model.resource_type import CloudContext, MockInvoke


def _number(args: dict[str, Any]) -> tuple[Any, str]:
    project = args.get("project") or "project"
    return project, placeholder(str(project), "number")


def _storage_service_account(args: dict[str, Any], ctx: CloudContext) -> dict[str, Any]:
    project, number = _number(args)
    email = f"service-{number}@gs-project-accounts.iam.gserviceaccount.com"
    return {"emailAddress": email, "member": f"serviceAccount:{email}", "id": email, "project": project}


def _bigquery_service_account(args: dict[str, Any], ctx: CloudContext) -> dict[str, Any]:
    project, number = _number(args)
    email = f"bq-{number}@bigquery-encryption.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}", "id": email, "project": project}


INVOKES: dict[str, MockInvoke] = {
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": _storage_service_account,
    "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount": _bigquery_service_account,
}
