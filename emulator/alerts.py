"""Monitor alerts (`monitor/v1/Alerts`): what Twilio's debugger records about failed webhooks.

The emulator never raises alerts on its own (the call simulator may); tests and users inject
them with `POST /_admin/alerts` (`{"alerts": [{"error_code": "11200", ...}]}`). The list
filters by `LogLevel`, `StartDate` and `EndDate` (ISO 8601, as Twilio's), newest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from emulator.errors import invalid
from emulator.store import Record, Store

ALERT = "alert"
LIST_FIELDS = (
    "account_sid",
    "alert_text",
    "api_version",
    "error_code",
    "log_level",
    "more_info",
    "request_method",
    "request_url",
    "resource_sid",
    "service_sid",
)
INSTANCE_ONLY = ("request_variables", "response_body", "response_headers", "request_headers")
LOG_LEVELS = ("error", "warning", "notice", "debug")


def parse_date(raw: str, name: str) -> float:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{name} must be an ISO 8601 date-time, got {raw[:30]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def iso(timestamp: object) -> str:
    assert isinstance(timestamp, int | float), timestamp
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_alert(store: Store, values: Mapping[str, Any]) -> Record:
    """Record one alert; `date_generated` (ISO or epoch seconds) defaults to now."""
    code = str(values.get("error_code", "")).strip()
    if not code.isdigit():
        raise ValueError("every alert needs a numeric error_code (e.g. 11200)")
    level = str(values.get("log_level", "error"))
    if level not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    when = values.get("date_generated")
    if when is None:
        generated = store.clock()
    elif isinstance(when, int | float):
        generated = float(when)
    else:
        generated = parse_date(str(when), "date_generated")
    method = str(values.get("request_method", "POST")).upper()
    if method not in ("GET", "POST"):
        raise ValueError("request_method must be GET or POST")
    sid = store.new_sid("NO", f"{code}|{generated}|{values.get('request_url')}")
    record: Record = {
        "sid": sid,
        "account_sid": store.account_sid,
        "alert_text": str(values.get("alert_text", f"Msg=Error {code}")),
        "api_version": "2010-04-01",
        "error_code": code,
        "log_level": level,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "request_method": method,
        "request_url": str(values.get("request_url", "")),
        "resource_sid": str(values.get("resource_sid", "CA" + "0" * 32)),
        "service_sid": values.get("service_sid"),
        "request_variables": str(values.get("request_variables", "")),
        "response_body": str(values.get("response_body", "")),
        "response_headers": str(values.get("response_headers", "")),
        "request_headers": str(values.get("request_headers", "")),
        "date_generated": generated,
        "date_created": generated,
        "date_updated": generated,
    }
    store.put(ALERT, "", record)
    return record


def alert_matches(record: Record, query: Mapping[str, str]) -> bool:
    level = query.get("LogLevel")
    if level and record.get("log_level") != level:
        return False
    generated = record.get("date_generated")
    assert isinstance(generated, int | float)
    start, end = query.get("StartDate"), query.get("EndDate")
    if start and generated < parse_date(start, "StartDate"):
        return False
    return not (end and generated > parse_date(end, "EndDate"))


def newest_first(records: list[Record]) -> list[Record]:
    return sorted(records, key=lambda r: float(r["date_generated"]), reverse=True)  # type: ignore[arg-type]


def render(record: Record, url: str, *, instance: bool) -> dict[str, object]:
    body: dict[str, object] = {name: record.get(name) for name in LIST_FIELDS}
    if instance:
        body.update({name: record.get(name) for name in INSTANCE_ONLY})
    body["sid"] = record["sid"]
    body["url"] = url
    for name in ("date_created", "date_generated", "date_updated"):
        body[name] = iso(record[name])
    return body


__all__ = ["ALERT", "add_alert", "alert_matches", "newest_first", "render"]
