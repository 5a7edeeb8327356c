"""Cron schedules: the five-field form users write, checked, and the AWS form it becomes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from infra.model.schedule import parse_schedule


@dataclass
class Case:
    reason: str
    given: str
    want: str


@pytest.mark.parametrize(
    "case",
    [
        Case("every night", "0 2 * * *", "cron(0 2 * * ? *)"),
        Case("every quarter hour", "*/15 * * * *", "cron(*/15 * * * ? *)"),
        Case("first of the month", "0 2 1 * *", "cron(0 2 1 * ? *)"),
        Case("a list of days of month", "0 2 1,15 * *", "cron(0 2 1,15 * ? *)"),
        Case("weekdays as a range of names", "0 2 * * 1-5", "cron(0 2 ? * MON-FRI *)"),
        Case("sunday as 0", "0 2 * * 0", "cron(0 2 ? * SUN *)"),
        Case("sunday as 7", "0 2 * * 7", "cron(0 2 ? * SUN *)"),
        Case("a list of days of week", "0 2 * * 1,3", "cron(0 2 ? * MON,WED *)"),
        Case("a weekend across the week's end", "0 2 * * 6,0", "cron(0 2 ? * SAT,SUN *)"),
        Case(
            "a range ending on sunday (AWS ranges do not wrap)", "0 2 * * 5-7", "cron(0 2 ? * FRI,SAT,SUN *)"
        ),
        Case(
            "a step over the week (AWS has no step there)", "0 2 * * */2", "cron(0 2 ? * SUN,TUE,THU,SAT *)"
        ),
        Case("a step over a range", "0 2 * * 1-5/2", "cron(0 2 ? * MON,WED,FRI *)"),
        Case("a step from a day", "0 2 * * 1/2", "cron(0 2 ? * MON,WED,FRI,SUN *)"),
        Case("extra spaces", "  0   2 * * *  ", "cron(0 2 * * ? *)"),
    ],
    ids=lambda c: c.reason,
)
def test_aws_form(case: Case) -> None:
    schedule = parse_schedule(case.given)

    assert schedule.aws() == case.want, case.reason
    assert schedule.expression == " ".join(case.given.split()), case.reason


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "four fields",
            "0 2 * *",
            "'0 2 * *' is not a cron schedule: expected five fields (minute hour day-of-month month day-of-week), e.g. '0 2 * * *'",
        ),
        Case(
            "a macro",
            "@daily",
            "'@daily' is not a cron schedule: expected five fields (minute hour day-of-month month day-of-week), e.g. '0 2 * * *'",
        ),
        Case("hour 25", "0 25 * * *", "'0 25 * * *': hour must be between 0 and 23"),
        Case("minute 60", "60 2 * * *", "'60 2 * * *': minute must be between 0 and 59"),
        Case("day of month 0", "0 2 0 * *", "'0 2 0 * *': day of month must be between 1 and 31"),
        Case("month 13", "0 2 * 13 *", "'0 2 * 13 *': month must be between 1 and 12"),
        Case("day of week 8", "0 2 * * 8", "'0 2 * * 8': day of week must be between 0 and 7"),
        Case(
            "a day name",
            "0 2 * * MON",
            "'0 2 * * MON': day of week 'MON' is not a number, range, list, step or '*'",
        ),
        Case(
            "AWS's L", "0 0 L * *", "'0 0 L * *': day of month 'L' is not a number, range, list, step or '*'"
        ),
        Case("a backwards range", "5-1 * * * *", "'5-1 * * * *': minute range '5-1' runs backwards"),
        Case("a zero step", "*/0 * * * *", "'*/0 * * * *': minute step must be between 1 and 59"),
        Case(
            "a zero step written 00 (it once crashed the plan)",
            "0 2 * * */00",
            "'0 2 * * */00': day of week step must be between 1 and 7",
        ),
        Case(
            "a step longer than the field",
            "*/99 * * * *",
            "'*/99 * * * *': minute step must be between 1 and 59",
        ),
        Case(
            "an absurd step",
            "*/" + "9" * 5000 + " * * * *",
            "'*/"
            + "9" * 5000
            + " * * * *': minute '*/"
            + "9" * 5000
            + "' is not a number, range, list, step or '*'",
        ),
        Case(
            "Arabic-Indic digits, which no scheduler reads",
            "\u0660 \u0662 * * *",
            "'\u0660 \u0662 * * *': minute '\u0660' is not a number, range, list, step or '*'",
        ),
        Case(
            "fullwidth digits",
            "0 \uff12 * * *",
            "'0 \uff12 * * *': hour '\uff12' is not a number, range, list, step or '*'",
        ),
        Case(
            "both day fields",
            "0 2 1 * 1",
            "'0 2 1 * 1': restrict either the day of month or the day of week, not both (AWS schedules cannot combine them)",
        ),
    ],
    ids=lambda c: c.reason,
)
def test_invalid_schedules(case: Case) -> None:
    with pytest.raises(ValueError) as caught:
        parse_schedule(case.given)

    assert str(caught.value) == case.want, case.reason
