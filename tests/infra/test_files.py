"""infra.model.files: inputs are regular files read with a cap; writes are whole or not at all."""

from __future__ import annotations

import errno
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.model.errors import DocumentInvalid, MeshError
from infra.model.files import FileExists, read_input, write_atomic


@dataclass
class Case:
    reason: str
    given: str
    want: str


def _special(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "nothing.yaml"
    if kind == "directory":
        (tmp_path / "folder.yaml").mkdir()
        return tmp_path / "folder.yaml"
    if kind == "fifo":
        os.mkfifo(tmp_path / "pipe.yaml")
        return tmp_path / "pipe.yaml"
    if kind == "oversized":
        (tmp_path / "big.yaml").write_text("x" * 2048)
        return tmp_path / "big.yaml"
    if kind == "latin-1":
        (tmp_path / "latin1.yaml").write_bytes("description: caf\xe9\n".encode("latin-1"))
        return tmp_path / "latin1.yaml"
    return Path(kind)


@pytest.mark.parametrize(
    "case",
    [
        Case("a missing file", "missing", "no such file"),
        Case("a directory", "directory", "is a directory, expected a request"),
        Case("a FIFO with no writer is refused at once, not waited on", "fifo", "is a named pipe (FIFO)"),
        Case("/dev/zero would fill the memory", "/dev/zero", "is a device, expected a request"),
        Case("a file over the cap", "oversized", "is larger than 1 KiB, the most mesh reads"),
        Case("bytes that are not UTF-8", "latin-1", "cannot be read as UTF-8 text"),
    ],
    ids=lambda c: c.reason,
)
def test_inputs_that_are_refused(case: Case, tmp_path: Path) -> None:
    path = _special(tmp_path, case.given)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_input(path, limit=1024, what="request")
        except BaseException as e:  # handed to the test thread
            outcome.append(e)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)

    assert not reader.is_alive(), f"{case.reason}: the read hangs"
    (error,) = outcome
    assert isinstance(error, DocumentInvalid), case.reason
    (problem,) = error.problems
    assert problem.file == str(path)
    assert problem.message.startswith(case.want), f"{case.reason}: {problem.message}"


def test_a_file_at_the_cap_is_read_and_a_symlink_to_a_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "exact.yaml").write_text("y" * 1024)
    (tmp_path / "link.yaml").symlink_to(tmp_path / "exact.yaml")

    assert read_input(tmp_path / "link.yaml", limit=1024) == "y" * 1024


def test_a_write_replaces_the_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "request.yaml"
    target.write_text("old content\n")

    write_atomic(target, "new content\n")

    assert target.read_text() == "new content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["request.yaml"]


def test_a_write_that_fails_part_way_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "request.yaml"
    old = "apiVersion: mesh/v1\n" * 70  # 1,400 bytes, as in the report of the bug
    target.write_text(old)

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(MeshError) as caught:
        write_atomic(target, "kind: DataProduct\n" * 200)

    assert caught.value.message == f"cannot write {target}: no space left on the device"
    assert target.read_text() == old, "the old request is untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["request.yaml"], "no temporary left behind"


def test_a_new_file_that_fails_part_way_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "new.yaml", "content")

    assert list(tmp_path.iterdir()) == []


def test_without_overwrite_an_existing_file_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "passphrase"
    target.write_text("first")

    with pytest.raises(FileExists):
        write_atomic(target, "second", overwrite=False)

    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passphrase"]


def test_mode_and_default_permissions(tmp_path: Path) -> None:
    write_atomic(tmp_path / "secret", "s", mode=0o600)
    write_atomic(tmp_path / "plain", "p")

    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(
    "case",
    [
        Case("a directory", "directory", "cannot write {path}: it is a directory"),
        Case(
            "under a regular file", "under-file", "cannot write {path}: a part of the folder path is a file"
        ),
        Case("under /proc", "/proc/mesh-request.yaml", "cannot write {path}: files cannot be created"),
        Case("a read-only folder", "read-only", "cannot write {path}: the file system is read-only"),
    ],
    ids=lambda c: c.reason,
)
def test_writes_that_cannot_happen_say_why(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Path(case.given)
    if case.given == "directory":
        path = tmp_path / "folder"
        path.mkdir()
    elif case.given == "under-file":
        (tmp_path / "mesh.yaml").write_text("x")
        path = tmp_path / "mesh.yaml" / "request.yaml"
    elif case.given == "read-only":
        path = tmp_path / "request.yaml"

        def read_only(**kwargs: object) -> tuple[int, str]:
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr("infra.model.files.tempfile.mkstemp", read_only)

    with pytest.raises(MeshError) as caught:
        write_atomic(path, "content", make_parents=True)

    assert caught.value.message.startswith(case.want.format(path=path)), caught.value.message
    assert caught.value.hint
