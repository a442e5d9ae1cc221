# ruff: noqa: S314 (parses the app's own TwiML, not untrusted input)
"""The IVR's retry count travels in the signed <Gather action> URL, not in the store.

A store that silently loses writes (a Redis without persistence restarted, eviction, a
failover) must not keep a caller in reprompts: the caller follows the TwiML exactly as Twilio
would, and after ``retries`` reprompts reaches the operator (or goodbye).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from twilio.request_validator import RequestValidator
from webhook_support import BASE, TOKEN, Twilio, built_in_with, make_settings
from werkzeug.test import Client

from webhook_app.app import create_app
from webhook_app.metrics import Metrics
from webhook_app.store import IvrSession, Record
from webhook_app.store_sqlite import SqliteStore

CALL = "CA0123456789abcdef0123456789abcdef"
PARAMS = {"AccountSid": "AC" + "0" * 32, "CallSid": CALL, "From": "+12125550199"}
OPERATOR = b"<Number>+14155550100</Number>"
GOODBYE = b">Goodbye.</Say><Hangup />"


class DroppingStore(SqliteStore):
    """Answers every write with success and keeps nothing: reads always find nothing."""

    def put_session(self, call_sid: str, session: IvrSession, ttl_seconds: int) -> None:
        return None

    def get_session(self, call_sid: str) -> IvrSession | None:
        return None

    def delete_session(self, call_sid: str) -> None:
        return None

    def claim(self, key: str, ttl_seconds: int, record: Record | None = None) -> bool:
        return True


def _caller(tmp_path: Path, flows: dict[str, Any] | None = None) -> Twilio:
    store = DroppingStore(str(tmp_path / "dropping.sqlite3"))
    settings = make_settings(caller_id="+14155550199", call_flows=flows or built_in_with())
    return Twilio(Client(create_app(settings, store, metrics=Metrics())))


def _next_url(twiml: bytes, answered: bool) -> str | None:
    """Where Twilio goes next: the Gather action with input, the Redirect without; None: done."""
    root = ET.fromstring(twiml)
    gather, redirect = root.find("Gather"), root.find("Redirect")
    if answered and gather is not None:
        return gather.get("action")
    return None if redirect is None else redirect.text


def _walk(twilio: Twilio, answer: dict[str, str], limit: int) -> list[bytes]:
    """Give the same answer at every prompt, going where the TwiML sends Twilio next."""
    pages = [twilio.post("/voice/inbound", PARAMS).data]
    for _ in range(limit):
        url = _next_url(pages[-1], answered=bool(answer))
        if url is None:
            break
        response = twilio.post(url, {**PARAMS, **answer})
        assert response.status_code == 200, response.data
        pages.append(response.data)
    return pages


@pytest.mark.parametrize("max_retries", [0, 1, 2, 5])
@pytest.mark.parametrize(
    ("operator", "exhausted"), [("+14155550100", OPERATOR), (None, GOODBYE)], ids=["op", "bye"]
)
@pytest.mark.parametrize("answer", [{"Digits": "7"}, {}], ids=["invalid", "silence"])
def test_a_store_that_drops_writes_cannot_hold_a_caller_in_reprompts(
    tmp_path: Path,
    max_retries: int,
    operator: str | None,
    exhausted: bytes,
    answer: dict[str, str],
) -> None:
    # first_silence=reprompt: silence at the first prompt is a timeout too (a retry).
    flows = built_in_with(operator={"numbers": [operator]} if operator else None)
    flows["flows"]["main"]["menus"]["main"].update(retries=max_retries, first_silence="reprompt")
    twilio = _caller(tmp_path, flows)
    pages = _walk(twilio, answer, limit=max_retries + 6)
    answers = pages[1:]
    reprompts = [p for p in answers if b"<Gather" in p]
    assert len(reprompts) == max_retries
    assert exhausted in answers[max_retries]
    assert len(answers) == max_retries + 1  # nothing after: the call left the menu


def test_each_reprompt_carries_its_count_in_the_signed_action_url(tmp_path: Path) -> None:
    twilio = _caller(tmp_path)  # the built-in menu: retries: 2
    first = twilio.post("/voice/menu", {**PARAMS, "Digits": "7"}).data
    assert b'<Gather action="/voice/menu?retries=1"' in first
    assert b'<Redirect method="POST">/voice/menu?retries=1</Redirect>' in first
    second = twilio.post("/voice/menu?retries=1", PARAMS).data
    assert b'action="/voice/menu?retries=2"' in second
    assert OPERATOR in twilio.post("/voice/menu?retries=2", {**PARAMS, "Digits": "7"}).data
    # A choice is routed whatever the count.
    assert b"+14155550101" in twilio.post("/voice/menu?retries=2", {**PARAMS, "Digits": "1"}).data


def test_the_count_cannot_be_changed_by_the_caller(tmp_path: Path) -> None:
    twilio = _caller(tmp_path)  # the built-in menu: retries: 2
    signed_for = BASE + "/voice/menu?retries=2"
    signature = RequestValidator(TOKEN).compute_signature(signed_for, {**PARAMS, "Digits": "7"})
    replayed = twilio.post("/voice/menu?retries=0", {**PARAMS, "Digits": "7"}, signature=signature)
    assert replayed.status_code == 403


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("retries=1", b"retries=2"),  # one more reprompt
        ("retries=9", OPERATOR),  # above retries (lowered mid-call): exhausted
        ("retries=x", OPERATOR),  # not a count this app writes: toward a person
        ("retries=%C2%B2", OPERATOR),  # a non-ASCII digit
        ("retries=", b"retries=1"),  # empty: the first answer
        ("other=1", b"retries=1"),
    ],
)
def test_odd_counts_go_toward_a_person(tmp_path: Path, query: str, expected: bytes) -> None:
    twilio = _caller(tmp_path)  # the built-in menu: retries: 2
    response = twilio.post(f"/voice/menu?{query}", {**PARAMS, "Digits": "7"})
    assert response.status_code == 200
    assert expected in response.data


def test_prefixed_base_keeps_the_prefix_in_the_counted_url(tmp_path: Path) -> None:
    store = DroppingStore(str(tmp_path / "s.sqlite3"))
    settings = make_settings(public_base_url=BASE + "/app")
    twilio = Twilio(Client(create_app(settings, store, metrics=Metrics())), base=BASE + "/app")
    page: Any = twilio.post("/voice/menu", {**PARAMS, "Digits": "7"}).data
    assert b'action="/app/voice/menu?retries=1"' in page
