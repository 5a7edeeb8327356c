"""The private Pulumi SDK parts mesh relies on are still there, and synthesis leaves nothing on stderr.

When a `pulumi` release changes one of these, this module fails first, naming the part:
fix `infra/pulumi_sdk.py` (the only module that touches them) and the pin in pyproject.toml.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pulumi_aws
from pulumi.runtime import resource, rpc, sync_await
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import source_pb2
from pulumi.type_token import _PULUMI_TYPE

from infra import pulumi_sdk

ROOT = Path(__file__).resolve().parents[2]


def test_the_private_names_mesh_uses_exist() -> None:
    assert callable(sync_await._sync_await), "pulumi.runtime.sync_await._sync_await is gone"
    assert rpc._special_sig_key == "4dabf18193072939515e22adb298388d", "rpc._special_sig_key changed"
    assert callable(resource._get_stack_trace), "pulumi.runtime.resource._get_stack_trace is gone"
    assert list(inspect.signature(resource._get_stack_trace).parameters) == [], (
        "_get_stack_trace takes arguments now"
    )
    assert source_pb2.StackTrace().frames is not None, "source_pb2.StackTrace changed shape"
    assert _PULUMI_TYPE == "pulumi_type", "pulumi.type_token._PULUMI_TYPE changed"
    for method in ("RegisterResource", "Invoke", "make_urn"):
        assert callable(getattr(MockMonitor, method, None)), f"MockMonitor.{method} is gone"
    assert MockMonitor.ResourceRegistration._fields == ("urn", "id", "state")


def test_type_token_reads_a_resource_class() -> None:
    assert pulumi_sdk.type_token(pulumi_aws.s3.Bucket) == "aws:s3/bucket:Bucket"
    assert pulumi_sdk.type_token(object) is None


def test_a_thread_event_loop_is_closed_and_unset() -> None:
    import asyncio

    with pulumi_sdk.thread_event_loop() as loop:
        assert asyncio.get_event_loop() is loop
    assert loop.is_closed()


def test_a_plan_writes_nothing_to_stderr() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(3):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from cli.app import main; main()",
                "plan",
                "products/sales-orders.yaml",
                "--output",
                "json",
            ],
            cwd=ROOT / "examples",
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
