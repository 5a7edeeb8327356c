"""Destroy never strands data: on the fake engine, the order of operations and what each applies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine_fakes import FakeWorkspace, FakeWorkspaces

from infra.engine import Engine, product_target
from infra.engine.target import WorkspaceSettings
from infra.synth import synthesize
from infra.validation import load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class RecordingWorkspaces(FakeWorkspaces):
    """The fake engine, also keeping the program each operation was opened with."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.programs: list[Callable[[], None]] = []

    def open(self, settings: WorkspaceSettings, program: Any) -> FakeWorkspace:
        self.programs.append(program)
        return super().open(settings, program)


def _target(delete_data: bool) -> Any:
    spec, _, loaded = load_spec(
        EXAMPLES / "products" / "finance-payroll.yaml", platform_path=None, environment="dev"
    )
    return spec, product_target(spec, loaded, source="finance-payroll.yaml", delete_data=delete_data)


def test_a_plain_destroy_only_destroys_and_keeps_the_key() -> None:
    spec, target = _target(delete_data=False)
    fake = RecordingWorkspaces(existing=(target.stack,))
    Engine(workspaces=fake).destroy(target)
    assert fake.calls(target.stack) == ["destroy"]
    graph = synthesize(fake.programs[-1], project=spec.project, stack=spec.stack)
    (bucket,) = graph.of_type("aws:s3/bucket:Bucket")
    (key,) = graph.of_type("aws:kms/key:Key")
    assert bucket.inputs["forceDestroy"] is False, bucket.urn
    # The bucket depends on the key: Pulumi deletes the bucket first, and a bucket that still
    # holds data stops the destroy before the key is touched (which is retained anyway).
    assert key.urn in bucket.dependencies, bucket.urn


def test_delete_data_updates_first_then_destroys_the_bucket_before_the_key() -> None:
    spec, target = _target(delete_data=True)
    fake = RecordingWorkspaces(existing=(target.stack,))
    Engine(workspaces=fake).destroy(target, delete_data=True)
    assert fake.calls(target.stack) == ["up", "destroy"]
    graph = synthesize(fake.programs[0], project=spec.project, stack=spec.stack)
    (bucket,) = graph.of_type("aws:s3/bucket:Bucket")
    (key,) = graph.of_type("aws:kms/key:Key")
    assert bucket.inputs["forceDestroy"] is True, bucket.urn
    assert key.urn in bucket.dependencies, bucket.urn
