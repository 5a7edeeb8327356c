"""Cron schedules: the five-field form users know, checked and turned into each cloud's form."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
# ASCII digits only (`\d` also matches Arabic-Indic and other digits, which no cloud
# scheduler reads), at most two of them, as in every valid field value.
_NUMBER = r"[0-9]{1,2}"
_ITEM = re.compile(rf"^(\*|{_NUMBER}(-{_NUMBER})?)(/{_NUMBER})?$")


@dataclass(frozen=True)
class Schedule:
    """A valid five-field cron expression."""

    expression: str

    @property
    def fields(self) -> list[str]:
        """minute, hour, day of month, month, day of week."""
        return self.expression.split()

    def aws(self) -> str:
        """The EventBridge/Glue form: `cron(m h dom mon dow year)` with `?` for the unused day field."""
        minute, hour, dom, month, dow = self.fields
        if dow == "*":
            dow = "?"
        elif dom == "*":
            dom = "?"
            dow = ",".join(_aws_weekdays(item) for item in dow.split(","))
        return f"cron({minute} {hour} {dom} {month} {dow} *)"


def _aws_weekdays(item: str) -> str:
    """One day-of-week item with day names, as AWS reads them (its day numbers start at SUN=1).

    AWS has no step (`/`) in this field and its ranges do not wrap past Saturday, so a
    step or a range ending on 7 (Sunday) becomes the list of days it stands for.
    """
    base, _, step = item.partition("/")
    if not step and not base.endswith("-7"):
        return re.sub(r"\d+", lambda m: _DAY_NAMES[int(m.group())], base)
    if base == "*":
        low, high = 0, 6
    elif "-" in base:
        low, high = (int(n) for n in base.split("-"))
    else:
        low, high = int(base), 7
    days = range(low, high + 1, int(step or 1))
    return ",".join(dict.fromkeys(_DAY_NAMES[d % 7] for d in days))


def parse_schedule(text: str) -> Schedule:
    """Check a five-field cron expression; raises `ValueError` with a message for the user."""
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(
            f"'{text}' is not a cron schedule: expected five fields "
            "(minute hour day-of-month month day-of-week), e.g. '0 2 * * *'"
        )
    for value, (label, low, high) in zip(parts, _FIELDS, strict=True):
        for item in value.split(","):
            if not _ITEM.fullmatch(item):
                raise ValueError(f"'{text}': {label} '{item}' is not a number, range, list, step or '*'")
            base, _, step = item.partition("/")
            numbers = [int(n) for n in re.findall(r"[0-9]+", base)]
            if any(n < low or n > high for n in numbers):
                raise ValueError(f"'{text}': {label} must be between {low} and {high}")
            if len(numbers) == 2 and numbers[0] > numbers[1]:
                raise ValueError(f"'{text}': {label} range '{base}' runs backwards")
            if step and not 1 <= int(step) <= high:
                raise ValueError(f"'{text}': {label} step must be between 1 and {high}")
    if parts[2] != "*" and parts[4] != "*":
        raise ValueError(
            f"'{text}': restrict either the day of month or the day of week, not both "
            "(AWS schedules cannot combine them)"
        )
    return Schedule(" ".join(parts))
