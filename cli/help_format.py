"""How `--help` names values: `FILE`, `PATH`, `WORDS...`, never typer's `{file}`, `<bool>` or
`<list[Path]>`.

Recent typer releases label every parameter with its Python type in angle brackets and
wrap required arguments in braces; for people who do not read Python that is noise, and
a flag takes no value at all. `install()` replaces those two labels once, for every
command. Older typer releases have neither method, and keep their own labels.
"""

from __future__ import annotations

from typing import Any

from typer import core

_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER"}


def value_label(type_label: str | None) -> str | None:
    """`<path>` → `PATH`, `<str>` → `TEXT`, `<list[Path]>` → `PATH...`, `<json|table>` → `[json|table]`."""
    if not type_label:
        return type_label
    inner = type_label.removeprefix("<").removesuffix(">")
    repeated = inner.startswith("list[")
    if repeated:
        inner = inner.removeprefix("list[").removesuffix("]")
    label = f"[{inner}]" if "|" in inner else _NAMES.get(inner, inner.upper())
    return f"{label}..." if repeated else label


def _option_label(self: Any, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    if self.metavar is not None:
        return str(self.metavar)
    return value_label(self.display_type(ctx))


def _argument_label(self: Any, ctx: Any) -> str | None:
    if self.metavar is not None:
        return str(self.metavar)
    return value_label(self.display_type(ctx))


def _argument_usage(self: Any) -> str:
    name = str(self.metavar or self.name).upper()
    if self.nargs != 1:
        name += "..."
    return name if self.required else f"[{name}]"


def install() -> None:
    """Use these labels in every command's help (a no-op on typer releases without them)."""
    if hasattr(core.TyperOption, "display_type_rich") and hasattr(core.TyperOption, "display_type"):
        core.TyperOption.display_type_rich = _option_label  # type: ignore[method-assign]
    if hasattr(core.TyperArgument, "display_type_rich") and hasattr(core.TyperArgument, "display_type"):
        core.TyperArgument.display_type_rich = _argument_label  # type: ignore[method-assign]
    if hasattr(core.TyperArgument, "_usage_display_name"):
        core.TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
