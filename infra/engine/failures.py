"""What can go wrong when the engine runs a stack, as `MeshError`s written for the user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infra.model.errors import MeshError

if TYPE_CHECKING:
    from infra.engine.workspace import PlannedStep


class StackLocked(MeshError):
    """Another update holds the stack's lock."""


class StackMissing(MeshError):
    """The stack does not exist in the backend (nothing was provisioned)."""


class PrerequisiteMissing(MeshError):
    """A stack this one relies on (the environment's platform stack) has not been applied."""


class ResourceFailed(MeshError):
    """A resource operation failed; the message names the resource and the provider's reason."""

    def __init__(self, message: str, *, hint: str | None = None, urn: str = "") -> None:
        super().__init__(message, hint=hint)
        self.urn = urn


class DestructiveChangeBlocked(MeshError):
    """The preview replaces or deletes stateful resources in an environment that is not a preview."""

    def __init__(self, message: str, *, hint: str | None = None, steps: Sequence[PlannedStep] = ()) -> None:
        super().__init__(message, hint=hint)
        self.steps = tuple(steps)


class ProtectedEnvironment(MeshError):
    """Destroying in an environment marked `protected: true` without saying so explicitly."""


class GuardrailsBlocked(MeshError):
    """The offline plan failed a mandatory guardrail."""


class EngineFailed(MeshError):
    """A Pulumi operation failed for a reason mesh has no closer words for."""
