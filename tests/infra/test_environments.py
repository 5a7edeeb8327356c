"""Ephemeral environments with the fake workspace: up, ls, down, expiry and gc (with the sweep on moto)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from engine_fakes import FakeStack, FakeWorkspaces
from moto import mock_aws

from infra.engine import Engine
from infra.engine.workspace import StackListing
from infra.environments import (
    collect_garbage,
    environment_down,
    environment_up,
    list_environments,
    parse_ttl,
    preview_environment,
)
from infra.model.errors import DocumentInvalid, MeshError, UsageError
from infra.model.spec import TAG_EXPIRES_AT, TAG_PREVIEW, TAG_STACK
from infra.validation import LoadedPlatform, load_platform, load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLES / "mesh.yaml", tmp_path / "mesh.yaml")
    shutil.copytree(EXAMPLES / "products", tmp_path / "products")
    return tmp_path


@pytest.fixture
def platform(repo: Path) -> LoadedPlatform:
    return load_platform(repo / "mesh.yaml")


def _stack(fake: FakeWorkspaces, name: str, tags: dict[str, str]) -> None:
    fake.existing.add(name)
    stack = fake.stacks.setdefault(name, FakeStack(name, fake))
    stack.tags_set = dict(tags)
    fake.listings.append(StackListing(name=name, last_update=NOW - timedelta(hours=3)))


@dataclass
class TtlCase:
    reason: str
    given: str
    want: timedelta | None


@pytest.mark.parametrize(
    "case",
    [
        TtlCase("hours", "12h", timedelta(hours=12)),
        TtlCase("minutes", "90m", timedelta(minutes=90)),
        TtlCase("days", "3d", timedelta(days=3)),
        TtlCase("no unit", "12", None),
        TtlCase("too long", "31d", None),
        TtlCase("too short", "1m", None),
    ],
    ids=lambda c: c.reason,
)
def test_parse_ttl(case: TtlCase) -> None:
    if case.want is None:
        with pytest.raises(UsageError):
            parse_ttl(case.given)
    else:
        assert parse_ttl(case.given) == case.want


def test_up_creates_a_stack_labelled_and_tagged_with_its_expiry(repo: Path) -> None:
    fake = FakeWorkspaces()
    report = environment_up(
        [repo / "products" / "sales-orders.yaml"], name="pr123", ttl=timedelta(hours=2),
        platform_path=None, environment=None, engine=Engine(workspaces=fake), now=NOW,
    )  # fmt: skip
    assert report.ok, report.as_dict()
    (run,) = report.runs
    assert run.stack == "sales.orders.previewpr123"
    assert run.target is not None and run.target.environment == "preview"
    expires = (NOW + timedelta(hours=2)).isoformat()
    tags = fake.stacks["sales.orders.previewpr123"].tags_set
    assert tags[TAG_EXPIRES_AT] == expires and tags[TAG_PREVIEW] == "true"
    assert fake.calls("sales.orders.previewpr123") == ["preview", "up"]
    assert report.confirmed is True  # preview environments apply without asking


def test_ephemeral_names_carry_the_label_and_expiry_on_every_tag(repo: Path) -> None:
    from infra.model.spec import Ephemeral

    spec, _, _ = load_spec(
        repo / "products" / "sales-orders.yaml",
        platform_path=None,
        environment="preview",
        ephemeral=Ephemeral("pr9", "2026-11-24T00:00:00+00:00"),
    )
    aws = spec.require_aws()
    assert aws.bucket == "acme-previewpr9-sales-orders"
    assert aws.producer_role == "acme-previewpr9-sales-orders-producer"
    assert aws.log_bucket == "acme-preview-platform-access-logs"  # the preview environment's shared one
    assert spec.tags[TAG_EXPIRES_AT] == "2026-11-24T00:00:00+00:00" and spec.tags[TAG_STACK] == spec.stack


def test_a_regular_environment_cannot_take_an_ephemeral_label(repo: Path) -> None:
    config = yaml.safe_load((repo / "mesh.yaml").read_text())
    config["environments"]["previewpr1"] = {"aws": {"account": "111122223333", "region": "eu-west-1"}}
    (repo / "mesh.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(DocumentInvalid, match="starts with the preview environment's name"):
        load_platform(repo / "mesh.yaml")


def test_ls_lists_ephemeral_stacks_with_expiry(platform: LoadedPlatform) -> None:
    fake = FakeWorkspaces()
    _stack(fake, "sales.orders.previewpr1", {TAG_EXPIRES_AT: (NOW - timedelta(hours=1)).isoformat()})
    _stack(fake, "sales.orders.previewpr2", {TAG_EXPIRES_AT: (NOW + timedelta(hours=1)).isoformat()})
    _stack(fake, "sales.orders.preview", {})  # the preview environment's own stack: not ephemeral
    found = list_environments(platform, environment="preview", engine=Engine(workspaces=fake), now=NOW)
    assert [(e.name, e.stack, e.expired) for e in found] == [
        ("pr1", "sales.orders.previewpr1", True),
        ("pr2", "sales.orders.previewpr2", False),
    ]


def test_down_destroys_and_removes_only_that_environment(platform: LoadedPlatform) -> None:
    fake = FakeWorkspaces()
    _stack(fake, "sales.orders.previewpr1", {})
    _stack(fake, "finance.payroll.previewpr1", {})
    _stack(fake, "sales.orders.previewpr2", {})
    result = environment_down(platform, name="pr1", environment="preview", engine=Engine(workspaces=fake))
    assert sorted(result.destroyed) == ["finance.payroll.previewpr1", "sales.orders.previewpr1"]
    assert sorted(fake.removed) == sorted(result.destroyed)
    assert fake.calls("sales.orders.previewpr2") == []
    with pytest.raises(MeshError, match="no ephemeral environment named pr7"):
        environment_down(platform, name="pr7", environment="preview", engine=Engine(workspaces=fake))


def _bucket(name: str, tags: dict[str, str]) -> None:
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})


def _buckets() -> set[str]:
    return {b["Name"] for b in boto3.client("s3", region_name="eu-west-1").list_buckets()["Buckets"]}


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "for real"])
def test_gc_destroys_expired_environments_then_sweeps_orphans(
    platform: LoadedPlatform, dry_run: bool
) -> None:
    fake = FakeWorkspaces()
    past, future = (NOW - timedelta(hours=1)).isoformat(), (NOW + timedelta(hours=1)).isoformat()
    _stack(fake, "sales.orders.previewpr1", {TAG_EXPIRES_AT: past})
    _stack(fake, "sales.orders.previewpr2", {TAG_EXPIRES_AT: future})
    preview = {TAG_PREVIEW: "true"}
    with mock_aws():
        _bucket("left-by-pr1", preview | {TAG_STACK: "sales.orders.previewpr1", TAG_EXPIRES_AT: past})
        _bucket("pr2-data", preview | {TAG_STACK: "sales.orders.previewpr2", TAG_EXPIRES_AT: future})
        _bucket("pr0-forgotten", preview | {TAG_STACK: "sales.orders.previewpr0", TAG_EXPIRES_AT: future})
        _bucket("acme-prod-sales-orders", {TAG_STACK: "sales.orders.prod", "mesh:environment": "prod"})
        session = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t")
        result = collect_garbage(
            platform,
            environment="preview",
            engine=Engine(workspaces=fake),
            dry_run=dry_run,
            now=NOW,
            session=session,
        )
        assert [e.stack for e in result.expired] == ["sales.orders.previewpr1"]
        assert result.sweep is not None
        assert {c.arn for c in result.sweep.orphans} == {
            "arn:aws:s3:::left-by-pr1",
            "arn:aws:s3:::pr0-forgotten",
        }
        if dry_run:
            assert fake.calls("sales.orders.previewpr1") == [] and fake.removed == []
            assert _buckets() == {"left-by-pr1", "pr2-data", "pr0-forgotten", "acme-prod-sales-orders"}
        else:
            assert fake.calls("sales.orders.previewpr1") == ["destroy"] and fake.removed == [
                "sales.orders.previewpr1"
            ]
            assert fake.calls("sales.orders.previewpr2") == []
            assert _buckets() == {"pr2-data", "acme-prod-sales-orders"}


def test_preview_environment_must_exist_and_be_unambiguous(repo: Path) -> None:
    config = yaml.safe_load((repo / "mesh.yaml").read_text())
    loaded = load_platform(repo / "mesh.yaml")
    assert preview_environment(loaded, None) == "preview"
    with pytest.raises(UsageError, match="not a preview environment"):
        preview_environment(loaded, "dev")
    config["environments"]["preview"]["preview"] = False
    (repo / "mesh.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(MeshError, match="has no preview environment"):
        preview_environment(load_platform(repo / "mesh.yaml"), None)


def test_env_commands_fail_fast_without_a_pulumi_cli(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    def unreachable(*_: Any, **__: Any) -> Callable[..., Any]:
        raise MeshError("The Pulumi CLI is needed to provision, and none was found", hint="Install it.")

    monkeypatch.setattr("infra.engine.operations.Engine.ready", unreachable)
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(
        app, ["env", "up", "products/sales-orders.yaml", "--name", "pr5", "--ttl", "2h"]
    )
    assert result.exit_code == 1
    assert "Pulumi CLI is needed" in result.output and "Traceback" not in result.output
