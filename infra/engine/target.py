"""What mesh builds for each stack: workspace settings, stack config and tags, and the target.

Decided here, once, for every stack:

- **State backend**: the environment's `backend`. `file://` paths are relative to the
  folder of `mesh.yaml` and become absolute; `s3://` and `gs://` pass through.
- **Secrets provider**: `awskms://` / `gcpkms://` pass through. `passphrase` uses
  `PULUMI_CONFIG_PASSPHRASE` (or `PULUMI_CONFIG_PASSPHRASE_FILE`) from the environment,
  then `MESH_PASSPHRASE`; otherwise mesh generates one once and keeps it in
  `<repo>/.mesh/passphrase` (mode 0600, in a folder git ignores). Pulumi gets the file
  path, so the passphrase itself is never put in an environment, printed or logged.
- **Stack config**: `aws:region`; for an environment with `endpoints` (LocalStack) the
  endpoint of each configured service (only those), path-style S3, no credential,
  account-id or metadata checks, and the emulator's `test` keys; `gcp:project` and
  `gcp:region` for GCP. mesh owns this config and rewrites it before every operation.
- **Stack tags**: `mesh:domain`, `mesh:product`, `mesh:owner`, `mesh:environment`, then
  the rest of the spec's tags.
- **Workspace folders**: `<repo>/.mesh/workspaces/<project>/<stack>`, one per stack, so
  stacks running in parallel never share Pulumi's project and stack files.

Nothing here imports Pulumi.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from infra.model.errors import MeshError
from infra.model.files import FileExists, ensure_mesh_dir, write_atomic
from infra.model.platform import EnvironmentConfig, PlatformConfig
from infra.model.platform_spec import platform_stack_name, resolve_platform
from infra.model.spec import TAG_DOMAIN, TAG_ENVIRONMENT, TAG_OWNER, TAG_PRODUCT, ProductSpec, project_name

if TYPE_CHECKING:
    from infra.validation import LoadedPlatform

Program = Callable[[], None]

MESH_DIR = ".mesh"
PASSPHRASE_FILE = "passphrase"
DEFAULT_BACKEND = "file://.mesh/state"
PASSPHRASE_PROVIDER = "passphrase"
EMULATOR_KEY = "test"
STACK_TAG_KEYS = (TAG_DOMAIN, TAG_PRODUCT, TAG_OWNER, TAG_ENVIRONMENT)


@dataclass(frozen=True)
class ConfigEntry:
    """One stack config value; `path` marks a key like `aws:endpoints[0].s3` (set with `--path`)."""

    value: str
    secret: bool = False
    path: bool = False


@dataclass(frozen=True)
class WorkspaceSettings:
    """Where and how Pulumi runs for one project in one environment.

    Building settings writes nothing; `prepare` creates the folders and the passphrase
    file right before Pulumi runs. `env_vars` may hold a passphrase (from
    `MESH_PASSPHRASE`), so it is left out of `repr`.
    """

    project: str
    backend_url: str
    secrets_provider: str
    mesh_dir: Path
    work_dir: Path
    env_vars: Mapping[str, str] = field(default_factory=dict, repr=False)
    passphrase_file: Path | None = None  # the file mesh generates, when it is the passphrase's source
    pulumi_home: str | None = None


@dataclass(frozen=True)
class StackTarget:
    """One stack to work on: its settings, config, tags and program, and where it came from."""

    stack: str
    environment: str
    settings: WorkspaceSettings
    config: Mapping[str, ConfigEntry]
    tags: Mapping[str, str]
    program: Program | None
    source: str  # the request file, or "platform"
    protected: bool = False
    preview_environment: bool = False
    planned_resources: int | None = None
    # A stack of the same project and backend that must exist before this one can be
    # applied: a product's buckets log to its environment's platform stack.
    requires: str | None = None

    def command(self, verb: str) -> str:
        """The mesh command line that runs `verb` on this stack (for hints)."""
        if self.source == "platform":
            return f"mesh platform {verb} --env {self.environment}"
        return f"mesh {verb} {self.source} --env {self.environment}"


def backend_url(backend: str, platform_dir: Path) -> str:
    """The environment's state backend as Pulumi wants it: `file://` made absolute, others unchanged."""
    if not backend.startswith("file://"):
        return backend
    rest = backend.removeprefix("file://") or DEFAULT_BACKEND.removeprefix("file://")
    path = Path(rest).expanduser()
    if not path.is_absolute():
        path = platform_dir / path
    return "file://" + path.resolve().as_posix()


def file_backend_path(url: str) -> Path | None:
    """The folder of a `file://` backend (None for other backends)."""
    return Path(url.removeprefix("file://")) if url.startswith("file://") else None


def passphrase_env(mesh_dir: Path) -> tuple[dict[str, str], Path | None]:
    """What Pulumi needs to find the passphrase, and the file mesh must create for it (if any).

    `PULUMI_CONFIG_PASSPHRASE(_FILE)` in the environment wins (Pulumi inherits it);
    then `MESH_PASSPHRASE`; then `<repo>/.mesh/passphrase`, generated on first use.
    Pulumi is given the file's path, never its content.
    """
    if os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return {}, None
    given = os.environ.get("MESH_PASSPHRASE")
    if given:
        return {"PULUMI_CONFIG_PASSPHRASE": given}, None
    path = mesh_dir / PASSPHRASE_FILE
    return {"PULUMI_CONFIG_PASSPHRASE_FILE": str(path)}, path


def ensure_passphrase_file(path: Path) -> Path:
    """Create `path` once with a random passphrase, readable by its owner only (0600).

    The file appears whole or not at all (written aside, then linked into place), so a
    crash never leaves an empty passphrase behind; an empty one found is refused.
    """
    ensure_mesh_dir(path.parent)
    if not path.exists():
        with contextlib.suppress(FileExists):  # another mesh created it first: use theirs
            write_atomic(path, secrets.token_urlsafe(32), overwrite=False, mode=0o600)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    if path.stat().st_size == 0:
        raise MeshError(
            f"the state passphrase file {path} is empty",
            hint="Restore it from where you keep a copy; if no stack was ever created with it, delete "
            "it and mesh generates a new one.",
        )
    return path


def prepare(settings: WorkspaceSettings) -> None:
    """Create what Pulumi expects before it runs: `.mesh`, the workspace and state folders, the passphrase."""
    ensure_mesh_dir(settings.mesh_dir)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    state = file_backend_path(settings.backend_url)
    if state is not None:
        state.mkdir(parents=True, exist_ok=True)  # Pulumi's file backend wants the folder to exist
    if settings.passphrase_file is not None:
        ensure_passphrase_file(settings.passphrase_file)


def stack_config(env: EnvironmentConfig, cloud: str) -> dict[str, ConfigEntry]:
    """The provider config of a stack on `cloud` in `env`."""
    if cloud == "gcp":
        if env.gcp is None:
            raise ValueError("environment has no gcp section")
        return {"gcp:project": ConfigEntry(env.gcp.project), "gcp:region": ConfigEntry(env.gcp.region)}
    if env.aws is None:
        raise ValueError("environment has no aws section")
    config = {"aws:region": ConfigEntry(env.aws.region)}
    if env.aws.endpoints:
        # An emulator: only the services configured (each endpoint slows the provider down).
        for service, url in sorted(env.aws.endpoints.items()):
            config[f"aws:endpoints[0].{service}"] = ConfigEntry(url.rstrip("/"), path=True)
        config |= {
            "aws:s3UsePathStyle": ConfigEntry("true"),
            "aws:skipCredentialsValidation": ConfigEntry("true"),
            "aws:skipRequestingAccountId": ConfigEntry("true"),
            "aws:skipMetadataApiCheck": ConfigEntry("true"),
            "aws:accessKey": ConfigEntry(EMULATOR_KEY, secret=True),
            "aws:secretKey": ConfigEntry(EMULATOR_KEY, secret=True),
        }
    else:
        # Credentials for another account must fail, not provision the product there.
        config["aws:allowedAccountIds[0]"] = ConfigEntry(env.aws.account, path=True)
    return config


def workspace_settings(
    config: PlatformConfig, environment: str, *, platform_dir: Path, project: str, folder: str
) -> WorkspaceSettings:
    """Backend, secrets provider and environment variables of `project` in `environment` (writes nothing)."""
    env = config.environments[environment]
    mesh_dir = platform_dir / MESH_DIR
    env_vars = {"PULUMI_SKIP_UPDATE_CHECK": "true"}
    passphrase_file = None
    if env.secrets_provider == PASSPHRASE_PROVIDER:
        found, passphrase_file = passphrase_env(mesh_dir)
        env_vars |= found
    return WorkspaceSettings(
        project=project,
        backend_url=backend_url(env.backend, platform_dir),
        secrets_provider=env.secrets_provider,
        mesh_dir=mesh_dir,
        work_dir=mesh_dir / "workspaces" / project / folder,
        env_vars=env_vars,
        passphrase_file=passphrase_file,
        pulumi_home=os.environ.get("MESH_PULUMI_HOME") or None,
    )


def products_workspace(platform: LoadedPlatform, environment: str, *, folder: str) -> WorkspaceSettings:
    """The workspace of the organisation's product project in `environment`, for reading
    and listing its stacks by name (`folder` keeps each use's workspace apart)."""
    return workspace_settings(
        platform.config,
        environment,
        platform_dir=platform.path.parent,
        project=project_name(platform.config.organization),
        folder=folder,
    )


def _stack_tags(tags: Mapping[str, str]) -> dict[str, str]:
    ordered = {k: tags[k] for k in STACK_TAG_KEYS if k in tags}
    return ordered | {k: v for k, v in tags.items() if k not in ordered}


def product_target(
    spec: ProductSpec,
    platform: LoadedPlatform,
    *,
    source: str,
    planned_resources: int | None = None,
    delete_data: bool = False,
) -> StackTarget:
    """The stack of a resolved product request; `delete_data` lets its buckets go with their objects."""
    from stacks.product import product_program  # noqa: PLC0415 - stacks import pulumi; only when a stack runs

    # An ephemeral environment's label (preview + pr123) lives in its preview environment.
    environment = spec.platform_environment or spec.environment
    env = platform.config.environments[environment]
    return StackTarget(
        stack=spec.stack,
        environment=environment,
        settings=workspace_settings(
            platform.config,
            environment,
            platform_dir=platform.path.parent,
            project=spec.project,
            folder=spec.stack,
        ),
        config=stack_config(env, spec.cloud),
        tags=_stack_tags(spec.tags),
        program=product_program(spec, delete_data=delete_data),
        source=source,
        protected=env.protected,
        preview_environment=env.preview,
        planned_resources=planned_resources,
        requires=platform_stack_name(environment) if env.aws is not None and spec.cloud == "aws" else None,
    )


def platform_target(platform: LoadedPlatform, environment: str) -> StackTarget:
    """The platform stack of `environment` (AWS only)."""
    from stacks.platform import PLATFORM_RESOURCES, platform_program  # noqa: PLC0415 - as above

    config = platform.config
    env = config.environments[environment]
    spec = resolve_platform(config, environment)  # refuses an environment without AWS, with the reason
    return StackTarget(
        stack=spec.stack,
        environment=environment,
        settings=workspace_settings(
            config, environment, platform_dir=platform.path.parent, project=spec.project, folder=spec.stack
        ),
        config=stack_config(env, "aws"),
        tags=_stack_tags(spec.tags),
        program=platform_program(spec),
        source="platform",
        protected=env.protected,
        preview_environment=env.preview,
        planned_resources=PLATFORM_RESOURCES,
    )
