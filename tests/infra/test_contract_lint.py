"""datacontract-cli's linter, the most used ODCS tool, finds every export clean.

The linter lives in its own virtual environment (its pins differ from mesh's): the test finds it
through MESH_DATACONTRACT_CLI, else `datacontract` on PATH, and is skipped with the reason when
neither exists. `.ci/run` provides it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.contract import data_contract
from infra.validation import load_spec

EXAMPLES = ("sales-orders", "finance-payroll", "marketing-campaigns")

# Runs `datacontract lint --no-inline-references FILE` through the linter's own command-line app,
# once per file, in one interpreter: each start of the linter costs seconds.
DRIVER = """
import sys
from typer.testing import CliRunner
from datacontract.cli import app
runner = CliRunner()
for path in sys.argv[1:]:
    result = runner.invoke(app, ["lint", "--no-inline-references", path])
    print(f"=== {path} exit={result.exit_code}")
    print(result.output)
"""


def _linter() -> Path:
    found = os.environ.get("MESH_DATACONTRACT_CLI") or shutil.which("datacontract")
    if not found or not Path(found).is_file():
        pytest.skip(
            "datacontract-cli not found: set MESH_DATACONTRACT_CLI to its `datacontract` binary "
            "(python3 -m venv .mesh/venv-dcli && .mesh/venv-dcli/bin/pip install datacontract-cli) or put it on PATH"
        )
    return Path(found)


def _lint(linter: Path, paths: list[Path]) -> dict[str, tuple[int, str]]:
    """Each file's exit code and output under `datacontract lint --no-inline-references`."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    shebang = linter.read_bytes()[:200].split(b"\n", 1)[0].decode(errors="replace")
    interpreter = shebang[2:].strip() if shebang.startswith("#!") and "python" in shebang else None
    if interpreter is None:
        runs = [
            subprocess.run(
                [str(linter), "lint", "--no-inline-references", str(p)],
                capture_output=True,
                text=True,
                timeout=300,
                env=env,
                check=False,
            )
            for p in paths
        ]
        return {str(p): (r.returncode, r.stdout + r.stderr) for p, r in zip(paths, runs, strict=True)}
    run = subprocess.run(
        [interpreter, "-c", DRIVER, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    results = {}
    for chunk in run.stdout.split("=== ")[1:]:
        head, _, output = chunk.partition("\n")
        path, _, code = head.rpartition(" exit=")
        results[path] = (int(code), output)
    return results


def test_every_export_is_clean_under_datacontract_lint_and_a_broken_one_is_not(
    examples_dir: Path, tmp_path: Path
) -> None:
    linter = _linter()
    exports = []
    for example in EXAMPLES:
        for env in ("dev", "prod"):
            spec, loaded, platform = load_spec(
                examples_dir / "products" / f"{example}.yaml", platform_path=None, environment=env
            )
            path = tmp_path / f"{example}-{env}.odcs.yaml"
            path.write_text(
                data_contract(spec, platform.config, request=loaded.request).to_yaml(), encoding="utf-8"
            )
            exports.append(path)
    # The check can fail: the same linter must refuse an export with a broken status.
    broken = tmp_path / "broken.odcs.yaml"
    broken.write_text(exports[0].read_text().replace("status: active", "status: 5"), encoding="utf-8")

    results = _lint(linter, [*exports, broken])

    for path in exports:
        code, output = results[str(path)]
        assert code == 0, f"{path.name}:\n{output}"
        assert "Data contract is valid against ODCS v3.1.0" in " ".join(output.split()), (
            f"{path.name}:\n{output}"
        )
    assert results[str(broken)][0] == 1, results[str(broken)][1]
