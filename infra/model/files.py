"""Files mesh reads from users and writes for them.

Reading: an input (request, platform config, contract, saved plan) must be a regular file
and is read with a size cap, so `/dev/zero` cannot fill the memory, a FIFO without a
writer cannot hang the command, and a huge file is refused before it is parsed.

Writing: every file mesh writes goes through `write_atomic`: the content goes to a
temporary file in the same folder, is flushed to disk (fsync), and is renamed over the
target, so a reader (or a crash) sees either the old file or the whole new one, never
half of it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from infra.model.errors import DocumentInvalid, MeshError, Problem

# Why 512 KiB: the largest request the column cap allows (5,000 columns, each with a
# description, in block style) is 450 KiB; the largest example is 1.5 KiB. Reading costs
# about 130 MB of memory and a few seconds of pure-Python YAML parsing per MB, so the cap
# keeps any refusal quick and far under 500 MB (see 'Input limits' in the README).
MAX_INPUT_BYTES = 512 * 1024
# An ODCS contract spends about 135 bytes per column: the export of that largest request
# is 660 KiB.
MAX_CONTRACT_BYTES = 2 * 1024 * 1024
# A saved `mesh plan --output json` of the largest product the caps allow is 1.5 MB.
MAX_PLAN_BYTES = 16 * 1024 * 1024
# A saved `mesh plan --all --output json` of 1,000 generated products is 73 MB
# (bench/review_all.py): the cap holds about 7,000 such products.
MAX_MESH_PLAN_BYTES = 512 * 1024 * 1024


class FileExists(MeshError):
    """`write_atomic(..., overwrite=False)` found the target already there."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refused(path: Path, message: str, *, hint: str | None = None) -> DocumentInvalid:
    return DocumentInvalid([Problem(file=str(path), path="", message=message)], hint=hint)


def read_input(path: Path, *, limit: int = MAX_INPUT_BYTES, what: str = "file") -> str:
    """The UTF-8 text of the regular file at `path`, at most `limit` bytes.

    Raises `DocumentInvalid` (exit 1), naming the file, when it does not exist, is a
    directory, device, FIFO or socket, is larger than `limit`, or is not UTF-8 text.
    """
    try:
        # O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError as e:
        raise _refused(path, "no such file", hint="Check the path.") from e
    except IsADirectoryError as e:
        raise _refused(path, f"is a directory, expected a {what}") from e
    except OSError as e:
        raise _refused(path, f"cannot be read ({e.strerror or e})") from e
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refused(path, f"is {_kind(mode)}, expected a {what}")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise _refused(path, f"cannot be read ({e.strerror or e})") from e
    finally:
        os.close(fd)
    if size > limit:
        raise _refused(
            path,
            f"is larger than {limit // 1024:,} KiB, the most mesh reads from one {what}",
            hint="See 'Input limits' in the README.",
        )
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as e:
        raise _refused(path, f"cannot be read as UTF-8 text (byte {e.start}: {e.reason})") from e


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(
    path: Path,
    content: str | bytes,
    *,
    overwrite: bool = True,
    mode: int | None = None,
    make_parents: bool = False,
    durable: bool = True,
) -> None:
    """Write `content` to `path` all at once: a reader sees the old file or the new one.

    The content goes to a temporary file in the same folder, is fsynced (unless `durable`
    is False: for caches, whose readers check what they read and treat a bad entry as a
    miss), then renamed over `path` (or, with `overwrite=False`, linked to it, which fails if `path` exists,
    so two writers cannot both create it). `mode` defaults to what the umask gives a new
    file. Raises `MeshError` naming the path when the folder cannot be written or
    `path` is a directory; `FileExists` (a `MeshError`) with `overwrite=False` when it exists.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    folder = path.parent
    try:
        if make_parents:
            folder.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise MeshError(f"cannot write {path}: it is a directory", hint="Pass the path of a file.")
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except MeshError:
        raise
    except OSError as e:
        raise _write_error(path, e) from e
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode if mode is not None else 0o666 & ~_umask())
        if overwrite:
            temporary.replace(path)
        else:
            path.hardlink_to(temporary)
            temporary.unlink()
        if durable:
            _sync_folder(folder)
    except FileExistsError as e:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise FileExists(f"{path} already exists", hint="Choose another path, or pass --force.") from e
    except BaseException as e:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(e, OSError):
            raise _write_error(path, e) from e
        raise


def ensure_mesh_dir(folder: Path) -> Path:
    """Create `<repo>/.mesh` with a `.gitignore` of `*`, so nothing in it is ever committed."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore_file = folder / ".gitignore"
    if not ignore_file.exists():
        with contextlib.suppress(FileExists):
            write_atomic(
                ignore_file,
                "# mesh's local state, workspaces and passphrase: never commit.\n*\n",
                overwrite=False,
            )
    return folder


def _sync_folder(folder: Path) -> None:
    """Persist the rename itself (some file systems do not allow syncing a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_error(path: Path, e: OSError) -> MeshError:
    reasons = {
        errno.ENOTDIR: "a part of the folder path is a file, not a folder",
        errno.EEXIST: "a part of the folder path is a file, not a folder",
        errno.ENOENT: "its folder does not exist",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "no space left on the device",
        errno.EISDIR: "it is a directory",
    }
    reason = reasons.get(e.errno or 0, e.strerror or str(e))
    if e.errno == errno.ENOENT and path.parent.is_dir():
        reason = "files cannot be created in that folder"  # /proc and other virtual file systems
    return MeshError(f"cannot write {path}: {reason}", hint="Choose a path in a folder you can write to.")
