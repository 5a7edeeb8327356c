"""`mesh plan`: what a request creates, offline, with guardrail results."""

from __future__ import annotations


def plan() -> None:
    """Show the resources a request creates (offline)."""
