"""The platform config, `mesh.yaml`: organisation, domains, environments, guardrails.

It sits at the root of the repository that holds requests. `find_platform_file`
looks for it next to the request and upwards, like git looks for `.git`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from infra.model.request import PATTERN_HELP, DomainName, Email, _Model

PLATFORM_FILE = "mesh.yaml"
RESERVED_DOMAIN = "platform"
ENV_PATTERN = r"^[a-z][a-z0-9]{0,11}$"
ORG_PATTERN = r"^[a-z][a-z0-9]{1,11}$"

PATTERN_HELP.update(
    {
        ORG_PATTERN: "2–12 lowercase letters and digits, starting with a letter (no hyphens)",
        ENV_PATTERN: "1–12 lowercase letters and digits, starting with a letter (no hyphens)",
        r"^[0-9]{12}$": 'the 12 digits of an AWS account id, in quotes (e.g. "111122223333")',
    }
)

EnvironmentName = Annotated[str, StringConstraints(pattern=ENV_PATTERN)]
AwsAccount = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")]
GcpProject = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
GcpRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+[0-9]+$")]
Endpoint = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(:[0-9]+)?/?$")]
AwsService = Literal[
    "s3", "iam", "sts", "kms", "glue", "athena", "lakeformation", "resourcegroupstaggingapi", "sns", "events"
]


class DomainPrincipals(_Model):
    """Who may assume a domain's roles. `{account}` is replaced by the environment's account."""

    aws: list[
        Annotated[
            str,
            StringConstraints(
                pattern=r"^arn:aws[a-z-]*:iam::([0-9]{12}|\{account\}):(role|user)/[A-Za-z0-9_+=,.@/-]+$"
            ),
        ]
    ] = Field(default_factory=list)
    gcp: list[Annotated[str, StringConstraints(pattern=r"^(group|user|serviceAccount):[^\s]+@[^\s]+$")]] = (
        Field(default_factory=list)
    )


class BreakGlassPrincipals(DomainPrincipals):
    """Who may reach every product's data in an emergency, past the data perimeter.

    Each entry is an exact role or user ARN (no wildcards); `{account}` is replaced by
    the environment's account. They appear in every product's bucket and key policy and
    in `mesh review`, so adding one is reviewed like any grant. Keep the list short and
    the roles' trust tight (MFA, a ticketed process).
    """


class DomainConfig(_Model):
    """A registered domain: who owns it and who pays."""

    owners: list[Email] = Field(min_length=1)
    cost_center: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    description: str | None = None
    principals: DomainPrincipals = Field(default_factory=DomainPrincipals)


class AwsTarget(_Model):
    """An AWS account and region; `endpoints` point services at an emulator such as LocalStack."""

    account: AwsAccount
    region: AwsRegion
    endpoints: dict[AwsService, Endpoint] = Field(default_factory=dict)


class GcpTarget(_Model):
    """A GCP project and region."""

    project: GcpProject
    region: GcpRegion


class EnvironmentConfig(_Model):
    """One environment (dev, prod, preview, ...): where products go and how state is kept."""

    aws: AwsTarget | None = None
    gcp: GcpTarget | None = None
    backend: Annotated[str, StringConstraints(pattern=r"^(file://|s3://|gs://)\S*$")] = "file://.mesh/state"
    secrets_provider: Annotated[
        str, StringConstraints(pattern=r"^(passphrase|awskms://\S+|gcpkms://\S+)$")
    ] = "passphrase"
    protected: bool = False
    preview: bool = False
    disabled_guardrails: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_a_cloud(self) -> EnvironmentConfig:
        if self.aws is None and self.gcp is None:
            raise ValueError("an environment needs an 'aws' or a 'gcp' section (or both)")
        return self

    def clouds(self) -> tuple[str, ...]:
        """The clouds this environment can host."""
        return tuple(c for c, t in (("aws", self.aws), ("gcp", self.gcp)) if t is not None)


class GuardrailSettings(_Model):
    """Platform-wide guardrail settings. Mandatory rules can never be disabled."""

    allow_restricted_sharing: bool = Field(
        default=False,
        description="Allow restricted products to grant read access to other domains.",
    )
    disabled: list[str] = Field(default_factory=list, description="Advisory rule ids off everywhere.")


class PlatformConfig(_Model):
    """The whole `mesh.yaml`."""

    api_version: Literal["mesh/v1"]
    kind: Literal["Platform"]
    organization: Annotated[str, StringConstraints(pattern=ORG_PATTERN)]
    domains: dict[DomainName, DomainConfig] = Field(min_length=1)
    environments: dict[EnvironmentName, EnvironmentConfig] = Field(min_length=1)
    guardrails: GuardrailSettings = Field(default_factory=GuardrailSettings)
    platform_readers: DomainPrincipals = Field(
        default_factory=DomainPrincipals,
        description="The identities the platform itself reads and notifies as (`mesh health`, CI); "
        "their access to product data is expected, not undesirable.",
    )
    break_glass: BreakGlassPrincipals = Field(
        default_factory=BreakGlassPrincipals,
        description="Principals exempt from every product's data perimeter (emergency access).",
    )

    @model_validator(mode="after")
    def _ephemeral_labels_stay_unique(self) -> PlatformConfig:
        previews = [name for name, env in self.environments.items() if env.preview]
        for name in self.environments:
            clash = next((p for p in previews if name != p and name.startswith(p)), None)
            if clash:
                raise ValueError(
                    f"environment '{name}' starts with the preview environment's name '{clash}', which "
                    "ephemeral environments use as their prefix — rename one of them"
                )
        return self

    @field_validator("organization")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == "sthree":
            raise ValueError("'sthree' cannot be used: S3 reserves bucket names starting with 'sthree-'")
        if value.startswith("goog"):
            raise ValueError(f"'{value}' cannot be used: GCS reserves bucket names starting with 'goog'")
        return value

    @field_validator("domains")
    @classmethod
    def _platform_domain_reserved(cls, value: dict[str, DomainConfig]) -> dict[str, DomainConfig]:
        if RESERVED_DOMAIN in value:
            raise ValueError(f"'{RESERVED_DOMAIN}' is reserved for the shared resources of each environment")
        return value


def find_platform_file(start: Path) -> Path | None:
    """The nearest `mesh.yaml` in `start` (a file's folder or a folder) or any parent."""
    folder = start if start.is_dir() else start.parent
    for candidate in (folder.resolve(), *folder.resolve().parents):
        path = candidate / PLATFORM_FILE
        if path.is_file():
            return path
    return None
