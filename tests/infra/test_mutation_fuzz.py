"""A mutation fuzzer: the example requests and platform config, broken the ways users and
attackers break them, go through validation and planning; each must validate, plan, or
fail with a located `MeshError` (exit 1 or 2). Anything else is an unexpected error.

Mutations: dropped, duplicated, renamed and retyped fields; Unicode (controls, bidi
overrides, other scripts' digits, NUL, huge strings); huge numbers (4,301+ digits,
`.inf`, `.nan`); odd cron; hostile entrypoints; YAML aliases and merge keys; duplicate
keys; truncated files. Every case is built from its own seed, so a failure names the
seed that reproduces it.

CI runs `MESH_FUZZ_CASES` cases (default 200, about 30 s on an idle CI machine); the long run does 10,000:

    MESH_FUZZ_CASES=10000 pytest tests/infra/test_mutation_fuzz.py -s -p no:cacheprovider

and prints the cases per second (and its progress every 500 cases);
`MESH_FUZZ_FIRST_SEED` starts at another seed. One case in `PLAN_SHARE` that validates is also planned
(synthesis is ~100 times slower than validation).
"""

from __future__ import annotations

import copy
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.model.errors import DocumentInvalid, MeshError
from infra.plan import plan_request
from infra.validation import LoadedPlatform, load_platform, load_request

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REQUESTS = ["sales-orders", "finance-payroll", "marketing-campaigns"]
CASES = int(os.environ.get("MESH_FUZZ_CASES") or 200)
FIRST_SEED = int(os.environ.get("MESH_FUZZ_FIRST_SEED") or 0)
PLAN_SHARE = 0.25

HUGE = "9" * 4301
STRINGS = [
    "",
    " ",
    "x" * 20_000,
    "\x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "\u202eevil\u202c",
    "\u0661\u0662",
    "\uff11\uff12",
    "😀" * 50,
    "e\u0301\u0301\u0301",
    "`</details>![x](https://evil.example/p.png)",
    "<img src=x onerror=alert(1)>",
    "a\nb",
    "../../etc/passwd",
    "$(touch pwned)",
    "NaN",
    "1e400",
    "~",
    "null",
    "true",
    "0x1F",
    "١٢٣",
]
SCALARS: list[Any] = [0, -1, 1, 2**63, -(2**63), 1.5, 1e308, True, False, None, "string", "1", [], {}, [[[]]]]
CRONS = [
    "*/00 * * * *",
    "0 2 * * */00",
    "\u0660 \u0662 * * *",
    "*/99999999 * * * *",
    "0 2 * * 1,",
    "60-0/0 * * * *",
    "* * * * * *",
    "0 0 31 2 *",
    "0 0 * * 7-0",
    "0-59/1 0-23/1 1-31/1 1-12/1 *",
    "0 2 * * MON",
    "0\u20032 * * *",
    "*/" + "9" * 5000 + " * * * *",
]
ENTRYPOINTS = [
    "../../etc/passwd.py",
    "jobs/../../../x.py",
    "jobs/orders.py\x00.py",
    "jobs",
    "jobs/missing.py",
    "jobs/link-out.py",
    "jobs/link-in.py",
    "jobs/orders.py",
    "./jobs/orders.py",
    "jobs/" + "a" * 300 + ".py",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _parent(doc: Any, rng: random.Random, kind: type) -> tuple[Any, Any] | None:
    """A random (container, key) whose value is a `kind`."""
    candidates = [p for p in _paths(doc) if p and isinstance(_get(doc, p), kind)]
    if not candidates:
        return None
    path = rng.choice(candidates)
    return _get(doc, path[:-1]), path[-1]


def drop(doc: Any, rng: random.Random) -> None:
    """Remove a field or a list item."""
    paths = [p for p in _paths(doc) if p]
    path = rng.choice(paths)
    del _get(doc, path[:-1])[path[-1]]


def duplicate(doc: Any, rng: random.Random) -> None:
    """Repeat a list item."""
    found = _parent(doc, rng, list)
    items = found[0][found[1]] if found else None
    if items:
        items.insert(rng.randrange(len(items) + 1), copy.deepcopy(rng.choice(items)))


def retype(doc: Any, rng: random.Random) -> None:
    """Give a field a value of another type."""
    paths = [p for p in _paths(doc) if p]
    path = rng.choice(paths)
    _get(doc, path[:-1])[path[-1]] = copy.deepcopy(rng.choice(SCALARS + STRINGS))


def rename(doc: Any, rng: random.Random) -> None:
    """Misspell a key."""
    found = _parent(doc, rng, object)
    if found and isinstance(found[0], dict):
        container, key = found
        value = container.pop(key)
        container[str(key)[:-1] + rng.choice("xs_") if key else "x"] = value


def unicode(doc: Any, rng: random.Random) -> None:
    """Put hostile text in a string field."""
    paths = [p for p in _paths(doc) if p and isinstance(_get(doc, p), str)]
    if paths:
        path = rng.choice(paths)
        _get(doc, path[:-1])[path[-1]] = rng.choice(STRINGS)


def cron(doc: Any, rng: random.Random) -> None:
    """An odd schedule (adds a transform when there is none)."""
    compute = (
        doc.setdefault("spec", {}).setdefault("compute", {}) if isinstance(doc.get("spec"), dict) else {}
    )
    if isinstance(compute, dict):
        compute["transform"] = {"schedule": rng.choice(CRONS), "entrypoint": "jobs/orders.py"}


def entrypoint(doc: Any, rng: random.Random) -> None:
    """A hostile or odd entrypoint."""
    compute = (
        doc.setdefault("spec", {}).setdefault("compute", {}) if isinstance(doc.get("spec"), dict) else {}
    )
    if isinstance(compute, dict):
        compute["transform"] = {"schedule": "0 2 * * *", "entrypoint": rng.choice(ENTRYPOINTS)}


def many(doc: Any, rng: random.Random) -> None:
    """Multiply a list far past what a request needs."""
    found = _parent(doc, rng, list)
    if found and found[0][found[1]]:
        items = found[0][found[1]]
        items.extend(copy.deepcopy(items[-1]) for _ in range(rng.choice([55, 1_001])))


DOCUMENT_MUTATIONS: list[Callable[[Any, random.Random], None]] = [
    drop, duplicate, retype, rename, unicode, cron, entrypoint, many,
]  # fmt: skip


def huge_number(text: str, rng: random.Random) -> str:
    """Replace a number (or any plain value) by a huge one, .inf or .nan."""
    lines = text.splitlines()
    index = rng.randrange(len(lines))
    if ": " in lines[index]:
        key = lines[index].split(": ", 1)[0]
        lines[index] = (
            f"{key}: {rng.choice([HUGE, '-' + HUGE, '.inf', '-.inf', '.nan', '1e400', '0o777', '0x' + 'f' * 5000])}"
        )
    return "\n".join(lines) + "\n"


def aliases(text: str, rng: random.Random) -> str:
    """Anchor a value and repeat it through aliases (and merge keys)."""
    try:
        data = _load(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        return text
    spec = data.get("spec") if isinstance(data, dict) else None
    ports = spec.get("outputPorts") if isinstance(spec, dict) else None
    if not isinstance(ports, list) or not ports:
        return text
    copies = rng.choice([2, 50, 120])
    data["spec"]["outputPorts"] = [ports[0]] * copies  # the dumper writes &id001 / *id001
    try:
        dumped = _dump(data, allow_unicode=False)
    except ValueError:
        return text  # a 5,000-digit hexadecimal cannot be written back in decimal
    if rng.random() < 0.5:
        dumped = dumped.replace("- *id001", "- {<<: *id001, name: merged}", 1)
    return dumped


def duplicate_key(text: str, rng: random.Random) -> str:
    """Repeat a line (a duplicate key, or a list item twice)."""
    lines = text.splitlines()
    index = rng.randrange(len(lines))
    lines.insert(index, lines[index])
    return "\n".join(lines) + "\n"


def truncate(text: str, rng: random.Random) -> str:
    """Cut the file anywhere."""
    return text[: rng.randrange(len(text) + 1)]


def deep(text: str, rng: random.Random) -> str:
    """Nest a value very deeply."""
    depth = rng.choice([100, 5_000, 50_000])
    return text + "extra: " + "[" * depth + "]" * depth + "\n"


TEXT_MUTATIONS: list[Callable[[str, random.Random], str]] = [
    huge_number,
    aliases,
    duplicate_key,
    truncate,
    deep,
]


def _load(text: str) -> Any:
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # a safe loader, in C


def _dump(doc: Any, *, allow_unicode: bool) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=allow_unicode)


def mutate(text: str, rng: random.Random) -> str:
    """One to three mutations of `text`, on the document or on the YAML text."""
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.7:
            try:
                doc = _load(text)
            except (yaml.YAMLError, ValueError, RecursionError):
                continue  # an earlier mutation broke the YAML itself: keep mutating the text
            if not isinstance(doc, dict | list) or not doc:
                continue
            mutation = rng.choice(DOCUMENT_MUTATIONS)
            mutation(doc, rng)
            try:
                text = _dump(doc, allow_unicode=rng.random() < 0.5)
            except ValueError:
                continue  # a 5,000-digit hexadecimal cannot be written back in decimal
            if mutation is many:
                break  # big enough: mutating it further costs the fuzzer, not mesh, the time
        elif text.strip():
            text = rng.choice(TEXT_MUTATIONS)(text, rng)
    return text


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with mesh.yaml, the example requests, their job and two symlinks."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copy(EXAMPLES / "mesh.yaml", root / "mesh.yaml")
    shutil.copytree(EXAMPLES / "products", root / "products")
    (root / "products" / "jobs" / "link-out.py").symlink_to("/etc/passwd")
    (root / "products" / "jobs" / "link-in.py").symlink_to(root / "products" / "jobs" / "orders.py")
    return root


def run_case(seed: int, repo: Path, platform: LoadedPlatform) -> str:
    """Mutate one example, validate it and maybe plan it: 'valid', 'planned' or 'refused'.

    Raises whatever is not a `MeshError`, and AssertionError for a MeshError without a
    usable exit code or location.
    """
    rng = random.Random(seed)
    folder = repo / "products"
    if rng.random() < 0.15:
        target = repo / f"case-{seed % 7}" / "mesh.yaml"
        target.parent.mkdir(exist_ok=True)
        target.write_text(mutate((EXAMPLES / "mesh.yaml").read_text(), rng), encoding="utf-8")
        try:
            load_platform(target)
        except DocumentInvalid as e:
            assert e.problems and all(p.file == str(target) for p in e.problems), e.message
            return "refused"
        return "valid"
    example = rng.choice(REQUESTS)
    path = folder / f"case-{seed % 7}.yaml"
    path.write_text(mutate((folder / f"{example}.yaml").read_text(), rng), encoding="utf-8")
    try:
        load_request(path, platform)
    except DocumentInvalid as e:
        assert e.problems and all(p.file == str(path) and p.message for p in e.problems), e.message
        assert e.exit_code == 1
        return "refused"
    except MeshError as e:
        assert e.exit_code in (1, 2), e.message
        return "refused"
    if rng.random() >= PLAN_SHARE:
        return "valid"
    try:
        plan_request(path, platform_path=platform.path, environment=None)
    except MeshError as e:
        assert e.exit_code in (1, 2), e.message
        return "refused"
    return "planned"


def test_mutated_examples_validate_plan_or_fail_with_a_located_error(repo: Path) -> None:
    platform = load_platform(repo / "mesh.yaml")
    outcomes: Counter[str] = Counter()
    unexpected: list[str] = []
    start = time.perf_counter()
    for done, seed in enumerate(range(FIRST_SEED, FIRST_SEED + CASES), start=1):
        try:
            outcomes[run_case(seed, repo, platform)] += 1
        except Exception as e:  # every other error is what this test looks for
            unexpected.append(f"seed {seed}: {type(e).__name__}: {str(e)[:300]}")
        if done % 500 == 0:  # progress of a long run (shown with -s)
            print(
                f"\n{done} cases, {time.perf_counter() - start:.0f} s, {len(unexpected)} unexpected",
                flush=True,
            )
    elapsed = time.perf_counter() - start
    print(
        f"\nmutation fuzz: {CASES} cases in {elapsed:.1f} s ({CASES / elapsed:.1f} cases/s); "
        f"{dict(sorted(outcomes.items()))}; {len(unexpected)} unexpected"
    )
    assert unexpected == [], "\n".join(unexpected[:20])
    assert outcomes["refused"] and outcomes["valid"] + outcomes["planned"], outcomes


def test_the_mutations_reach_what_they_claim() -> None:
    """The fuzzer is only as good as its mutations: each kind produces what it says."""
    rng = random.Random(1)
    text = (EXAMPLES / "products" / "sales-orders.yaml").read_text()
    seen = {mutate(text, random.Random(seed)) for seed in range(200)}

    assert any(HUGE in t for t in seen), "huge numbers"
    assert any("*id001" in t for t in seen), "aliases"
    assert any("*/00" in t for t in seen), "odd cron"
    assert any(e in t for t in seen for e in ("../../etc/passwd.py", "jobs/../../../x.py", "link-out")), (
        "hostile entrypoints"
    )
    assert any("\\e[2J" in t or "\x1b[2J" in t for t in seen), "control characters"
    assert aliases(text, rng).count("*id001") >= 1
