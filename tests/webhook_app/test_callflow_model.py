"""The call-flow model on its own: round trips, actions, and business hours across time zones."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from webhook_app.callflow import artifact
from webhook_app.callflow.model import Action, CallFlows, Schedule

UTC = dt.UTC


@pytest.mark.parametrize(
    "dump",
    [
        {"mode": "json"},
        {"mode": "json", "exclude_none": True},
        {"mode": "json", "exclude_defaults": True},
        {},
    ],
)
def test_every_dump_of_the_model_loads_back_as_itself(dump: dict[str, bool]) -> None:
    flows = artifact.DEFAULT_CALL_FLOWS
    assert CallFlows.model_validate(flows.model_dump(**dump)) == flows  # type: ignore[arg-type]


def test_an_action_is_exactly_one_key_and_null_keys_do_not_count() -> None:
    assert Action.model_validate({"menu": "main", "dial": None}).kind == "menu"
    assert Action.model_validate({"hangup": ""}).kind == "hangup"
    for bad in ({}, {"menu": "a", "voicemail": "b"}, {"dial": None}):
        with pytest.raises(ValidationError, match="exactly one of menu, dial"):
            Action.model_validate(bad)


def test_the_hash_ignores_key_order_and_the_stack_name() -> None:
    flows = artifact.DEFAULT_CALL_FLOWS
    data = json.loads(artifact.render(flows, ["US", "CA"], stack="prod"))
    shuffled = CallFlows.model_validate(dict(reversed(list(data["call_flows"].items()))))
    assert artifact.content_hash(shuffled, ["CA", "US"]) == data["hash"]
    assert json.loads(artifact.render(flows, ["US", "CA"], stack="dev"))["hash"] == data["hash"]
    assert artifact.content_hash(flows, None) != data["hash"]  # countries are served too


NEW_YORK = Schedule.model_validate(
    {
        "time_zone": "America/New_York",
        "weekly": {"mon": ["09:00-17:00"], "sat": ["10:00-12:00", "13:00-24:00"]},
        "holidays": ["2026-12-28"],
    }
)


@pytest.mark.parametrize(
    ("utc", "is_open"),
    [
        ("2026-12-07T13:59", False),  # Monday 08:59 in New York (EST, UTC-5)
        ("2026-12-07T14:00", True),  # 09:00: the span's start is open
        ("2026-12-07T21:59", True),  # 16:59
        ("2026-12-07T22:00", False),  # 17:00: the span's end is closed
        ("2026-07-06T13:00", True),  # a summer Monday 09:00 (EDT, UTC-4)
        ("2026-07-06T21:30", False),  # 17:30 EDT, though 16:30 in EST
        ("2026-12-12T17:30", False),  # Saturday 12:30: between the two spans
        ("2026-12-13T04:59", True),  # Saturday 23:59: the span runs to midnight
        ("2026-12-08T14:00", False),  # a Tuesday: no spans
        ("2026-12-28T15:00", False),  # Monday 10:00, but a holiday
    ],
)
def test_business_hours_are_local_to_the_schedules_time_zone(utc: str, is_open: bool) -> None:
    when = dt.datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert NEW_YORK.is_open(when) is is_open


def test_a_holiday_is_the_local_date_not_the_utc_one() -> None:
    # 2026-12-29 02:00 UTC is still the 28th (21:00) in New York.
    assert NEW_YORK.is_holiday(dt.datetime(2026, 12, 29, 2, 0, tzinfo=UTC))
    assert not NEW_YORK.is_holiday(dt.datetime(2026, 12, 29, 6, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("weekly", "message"),
    [
        ({"mon": ["9:00-17:00"]}, "is not HH:MM-HH:MM"),
        ({"mon": ["17:00-09:00"]}, "ends before it starts"),
        ({"mon": ["22:00-06:00"]}, "two spans on two days"),
        ({"monday": ["09:00-17:00"]}, "monday"),
    ],
)
def test_bad_weekly_hours_are_refused(weekly: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Schedule.model_validate({"time_zone": "Europe/London", "weekly": weekly})
