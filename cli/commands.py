"""Every `mesh` command: its name, where it lives, and the line `mesh --help` lists it with.

`mesh` loads a command's module only when that command runs, so `mesh --help` and
`mesh validate` do not import the code of the other twenty commands (nor build their
options). The summary here is what `mesh --help` shows; `tests/cli/test_app.py` checks it
is the first line of the command's own help, so the two never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One command (a function) or command group (a `typer.Typer`), by module and attribute."""

    name: str
    module: str
    attribute: str
    summary: str


COMMANDS: tuple[Entry, ...] = (
    Entry(
        "validate",
        "cli.validate",
        "validate",
        "Check data product requests; every problem of every file is reported at once.",
    ),
    Entry("init", "cli.init", "init", "Write a new data product request by answering a few questions."),
    Entry("schema", "cli.schema", "schema", "Print the JSON Schema of a data product request."),
    Entry(
        "plan",
        "cli.plan",
        "plan",
        "Show every resource a request creates and the guardrail results — offline.",
    ),
    Entry(
        "provision",
        "cli.provision",
        "provision",
        "Create or update the cloud resources of data product requests.",
    ),
    Entry(
        "outputs",
        "cli.stack",
        "outputs",
        "Show the outputs of a provisioned request: bucket, roles, catalog database, workgroups.",
    ),
    Entry(
        "destroy",
        "cli.stack",
        "destroy",
        "Delete every cloud resource of a request's stack in one environment.",
    ),
    Entry(
        "cancel",
        "cli.stack",
        "cancel",
        "Cancel the update running on a request's stack, or release the lock a dead one left.",
    ),
    Entry(
        "status",
        "cli.status",
        "status",
        "List every stack of the organisation's project: last update, its result, and how long ago.",
    ),
    Entry(
        "doctor",
        "cli.doctor",
        "doctor",
        "Check that this machine can provision: one line per check, with the fix for each failure.",
    ),
    Entry(
        "events",
        "cli.events",
        "events",
        "Re-render an engine event log: each resource's operation and outcome, data at risk, failures and their fixes, the counts.",
    ),
    Entry(
        "prove",
        "cli.prove",
        "prove",
        "Prove who can read, list, write and delete each output port — on an emulator, offline.",
    ),
    Entry(
        "review",
        "cli.review",
        "review",
        "Review what a change to a request does, offline; exit 1 when something blocks it.",
    ),
    Entry(
        "verify", "cli.verify", "verify", "Check that what runs is still what was requested; exit 1 on drift."
    ),
    Entry(
        "emulate",
        "cli.verify",
        "emulate",
        "Apply a plan to a local emulator (LocalStack, moto server) — for verification only.",
    ),
    Entry(
        "health",
        "cli.health",
        "health",
        "Is every product fresh, running and read only by whom it should? Exit 1 on any breach.",
    ),
    Entry(
        "platform",
        "cli.platform",
        "app",
        "The shared resources of an environment: access-log bucket and catalog encryption.",
    ),
    Entry(
        "env",
        "cli.env",
        "app",
        "Ephemeral preview environments: up per pull request, down when it closes, gc on a schedule.",
    ),
    Entry(
        "catalog",
        "cli.catalog",
        "app",
        "Find data products and see their ports, columns, owner and freshness — read live from the catalog, "
        "or built into a static site from the requests.",
    ),
    Entry(
        "contract",
        "cli.contract",
        "app",
        "Data contracts in the Open Data Contract Standard (ODCS v3): export a request, import a contract.",
    ),
    Entry("product", "cli.product", "app", "Data products in the Open Data Product Standard (ODPS v1.1.0)."),
)

BY_NAME: dict[str, Entry] = {entry.name: entry for entry in COMMANDS}
