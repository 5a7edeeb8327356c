"""What the engine's own error texts mean for a mesh user, and what to do about each.

One table serves both readings of the engine: `infra.engine.automation.translate` (the
text of a failed CLI call) and `infra.engine.ledger` (the diagnostics of an event log,
live or replayed). Each cause is recognised by fragments of the texts the Pulumi CLI,
its engine and the AWS provider really print; the tests feed it those texts, taken
from their sources. Nothing here imports Pulumi.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """A known reason an engine operation fails: how to recognise it, what it means, the fix.

    `hint` may name `{stack}`, `{urn}` and `{apply}` (the mesh command that applies the
    stack); `explain` fills them in.
    """

    key: str
    needles: tuple[str, ...]
    what: str
    hint: str

    def matches(self, text: str) -> bool:
        """Whether `text` carries one of this cause's fragments (case-insensitive)."""
        lowered = text.lower()
        return any(needle.lower() in lowered for needle in self.needles)


CAUSES: tuple[Cause, ...] = (
    Cause(
        "protected",
        (
            "because it is protected",
            "as it is currently marked for protection",
        ),
        "the resource is protected in the stack's state, so the engine refuses to delete or replace it",
        "mesh never protects resources itself: someone set the flag on purpose, usually to keep its data. "
        "If deleting or replacing it (and its data) is really intended, remove the flag with "
        "`pulumi state unprotect '{urn}' --stack {stack}` and run again; otherwise undo the change "
        "to the request that forces the replacement.",
    ),
    Cause(
        "pending-operations",
        (
            "resource(s) with pending operations",
            "pending operations from previous deployment",
        ),
        "an earlier run was interrupted while it changed resources, so the engine does not know their state",
        "Check those resources in the cloud console, then run `pulumi refresh --stack {stack}` "
        "(interactively: it asks about pending creates) to bring the state in line, and run again.",
    ),
    Cause(
        "missing-plugin",
        (
            "found in the workspace or on your $path",
            "could not load plugin",
            "failed to download plugin",
            "error downloading plugin",
            "no resource plugin",
        ),
        "a Pulumi provider plugin is missing and could not be downloaded",
        "Pulumi downloads provider plugins on first use and needs internet for it; install it with the "
        "`pulumi plugin install` command the engine printed, and check with `mesh doctor`.",
    ),
    Cause(
        "credentials",
        (
            "unable to validate aws credentials",
            "no valid credential sources",
            "nocredentialproviders",
            "failed to refresh cached credentials",
            "the security token included in the request is invalid",
            "could not find default credentials",
        ),
        "the cloud credentials were missing, expired or rejected",
        "Log in (`aws sso login`, `aws configure`, or set AWS_PROFILE; for GCP "
        "`gcloud auth application-default login`), then run `mesh doctor` and run again.",
    ),
    Cause(
        "passphrase",
        ("incorrect passphrase", "passphrase must be set", "failed to decrypt"),
        "the passphrase does not unlock the stack's secrets",
        "Use the passphrase the stack was created with: set PULUMI_CONFIG_PASSPHRASE or MESH_PASSPHRASE, "
        "or restore <repo>/.mesh/passphrase from where it was kept.",
    ),
    Cause(
        "state-backend",
        ("NoSuchBucket", "failed to open bucket", "unable to open bucket", "AccessDenied: Access Denied"),
        "the state backend cannot be read",
        "Check that the environment's backend bucket exists and your credentials may read and write it "
        "(`mesh doctor`).",
    ),
)

#: The engine's closing words for a run that stopped because someone or something cancelled it.
CANCELLED = re.compile(r"^(update|preview|destroy|refresh) (canceled|cancelled)\.?$", re.IGNORECASE)
#: The engine's closing words for a failed run: they say nothing a person can act on.
GENERIC_FAILURES = re.compile(
    r"^(update|preview|destroy|refresh) failed\.?$|^update failed\b|^one or more errors occurred",
    re.IGNORECASE,
)


def find_cause(text: str) -> Cause | None:
    """The first known cause whose fragments appear in `text`, None when none does."""
    for cause in CAUSES:
        if cause.matches(text):
            return cause
    return None


def explain(cause: Cause, *, stack: str, urn: str = "", apply: str = "") -> str:
    """`cause.hint` with the stack, resource and apply command filled in."""
    return cause.hint.format(stack=stack or "<stack>", urn=urn or "<urn>", apply=apply or "mesh provision")


def failure_hint(reason: str, *, stack: str, urn: str = "", apply: str = "", applying: bool = True) -> str:
    """What to do about a resource that failed for `reason`: the known cause's fix, else the general one.

    `applying` is true for previews and updates (running the apply command again
    continues from what was created), false for destroys and refreshes.
    """
    cause = find_cause(reason)
    if cause is not None:
        return explain(cause, stack=stack, urn=urn, apply=apply)
    if applying:
        return (
            f"Fix the cause named above, then run `{apply or 'mesh provision'}` again: "
            "what was created is kept, and the next run continues from it."
        )
    return (
        "Fix the cause named above and run the command again; "
        f"`pulumi stack --stack {stack or '<stack>'}` shows what is left."
    )
