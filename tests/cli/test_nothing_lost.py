"""Nothing lost: mesh never leaves half a file, never overwrites a request or mesh.yaml with
a contract, and says plainly when it cannot write where it was told to."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from infra.engine.target import ensure_passphrase_file
from infra.model.errors import MeshError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INIT = [
    "init", "--no-input", "--domain", "sales", "--name", "orders", "--owner", "sales-data@example.com",
    "--description", "One row per order line.",
]  # fmt: skip
runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(EXAMPLES / "mesh.yaml", tmp_path / "mesh.yaml")
    shutil.copytree(EXAMPLES / "products", tmp_path / "products")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _fail_part_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills after the first 1,024 bytes of any file mesh writes."""

    real_fdopen = os.fdopen

    class Handle:
        def __init__(self, handle: object) -> None:
            self.handle = handle

        def __enter__(self) -> Handle:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()  # type: ignore[attr-defined]

        def write(self, data: bytes) -> int:
            self.handle.write(data[:1024])  # type: ignore[attr-defined]
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str) -> object:
            return getattr(self.handle, name)

    monkeypatch.setattr("infra.model.files.os.fdopen", lambda fd, mode: Handle(real_fdopen(fd, mode)))


def test_init_force_that_fails_part_way_keeps_the_old_request(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = repo / "products" / "sales-orders.yaml"
    before = target.read_text()
    _fail_part_way(monkeypatch)

    result = runner.invoke(app, [*INIT, "--file", str(target), "--force"])

    assert result.exit_code == 1
    assert f"Error: cannot write {target}: no space left on the device" in " ".join(result.stderr.split())
    assert target.read_text() == before
    assert sorted(p.name for p in target.parent.iterdir() if p.name.startswith(".")) == []


def test_init_to_a_new_path_that_fails_part_way_leaves_no_file(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_part_way(monkeypatch)

    result = runner.invoke(app, [*INIT, "--file", "new/orders.yaml"])

    assert result.exit_code == 1
    assert list((repo / "new").iterdir()) == []


def test_contract_import_force_that_fails_part_way_keeps_the_old_request(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = runner.invoke(
        app, ["contract", "export", "products/sales-orders.yaml", "--file", "orders.odcs.yaml"]
    )
    assert exported.exit_code == 0, exported.output
    target = repo / "products" / "sales-orders.yaml"
    before = target.read_text()
    _fail_part_way(monkeypatch)

    result = runner.invoke(app, ["contract", "import", "orders.odcs.yaml", "--file", str(target), "--force"])

    assert result.exit_code == 1, result.output
    assert target.read_text() == before


@pytest.mark.parametrize(
    ("where", "want"),
    [
        ("products", "Error: products is a directory"),
        (
            "mesh.yaml/orders.yaml",
            "Error: cannot write mesh.yaml/orders.yaml: a part of the folder path is a file, not a folder",
        ),
        (
            "/proc/orders.yaml",
            "Error: cannot write /proc/orders.yaml: files cannot be created in that folder",
        ),
    ],
)
def test_init_says_why_it_cannot_write(where: str, want: str, repo: Path) -> None:
    result = runner.invoke(app, [*INIT, "--file", where])

    assert result.exit_code == 1
    assert " ".join(result.stderr.split()).startswith(want), result.stderr
    assert "unexpected" not in result.stderr


def test_export_refuses_to_overwrite_without_force(repo: Path) -> None:
    (repo / "orders.odcs.yaml").write_text("kept\n")

    refused = runner.invoke(
        app, ["contract", "export", "products/sales-orders.yaml", "--file", "orders.odcs.yaml"]
    )
    forced = runner.invoke(
        app, ["contract", "export", "products/sales-orders.yaml", "--file", "orders.odcs.yaml", "--force"]
    )

    assert refused.exit_code == 2
    assert "Error: --file orders.odcs.yaml already exists" in refused.stderr
    assert forced.exit_code == 0, forced.output
    assert "kind: DataContract" in (repo / "orders.odcs.yaml").read_text()


def test_product_export_overwrites_only_with_force(repo: Path) -> None:
    (repo / "orders.odps.yaml").write_text("kept\n")

    refused = runner.invoke(
        app, ["product", "export", "products/sales-orders.yaml", "--file", "orders.odps.yaml"]
    )

    assert refused.exit_code == 2
    assert "Error: --file orders.odps.yaml already exists" in refused.stderr
    assert (repo / "orders.odps.yaml").read_text() == "kept\n"
    forced = runner.invoke(
        app, ["product", "export", "products/sales-orders.yaml", "--file", "orders.odps.yaml", "--force"]
    )
    assert forced.exit_code == 0, forced.output
    assert "kind: DataProduct" in (repo / "orders.odps.yaml").read_text()
    again = runner.invoke(
        app, ["product", "export", "products/sales-orders.yaml", "--file", "orders.odps.yaml", "--force"]
    )
    assert again.exit_code == 0, "an ODPS descriptor is not a mesh request: --force replaces it"


@pytest.mark.parametrize("group", ["contract", "product"])
@pytest.mark.parametrize(
    "target",
    ["products/sales-orders.yaml", "products/finance-payroll.yaml", "mesh.yaml", "./products/../mesh.yaml"],
)
def test_export_never_overwrites_a_request_or_the_platform_config(
    target: str, group: str, repo: Path
) -> None:
    before = (repo / target).read_text()

    result = runner.invoke(app, [group, "export", "products/sales-orders.yaml", "--file", target, "--force"])

    assert result.exit_code == 2
    assert "mesh never overwrites one with an export, even with --force" in " ".join(result.stderr.split())
    assert (repo / target).read_text() == before


def test_the_passphrase_appears_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / ".mesh" / "passphrase"

    def crash(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", crash)
        with pytest.raises(MeshError):
            ensure_passphrase_file(path)
    assert not path.exists(), "no empty passphrase is left to be reused"

    ensure_passphrase_file(path)
    first = path.read_text()
    ensure_passphrase_file(path)
    assert len(first) >= 32 and path.read_text() == first


def test_an_empty_passphrase_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ".mesh" / "passphrase"
    path.parent.mkdir()
    path.write_text("")

    with pytest.raises(MeshError) as caught:
        ensure_passphrase_file(path)

    assert caught.value.message == f"the state passphrase file {path} is empty"
