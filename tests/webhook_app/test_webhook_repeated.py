"""Repeated parameters: a reordering of a signed request's repeated values cannot change its route.

Twilio's signature sorts a repeated name's values before signing, so ``Digits=1&Digits=7`` and
``Digits=7&Digits=1`` carry the same signature. Twilio sends each parameter once; a name a flow
reads that repeats with different values is refused (400) in every order, and a name repeated
with one value reads as that value.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from webhook_support import BASE, TOKEN, main_flow_with, make_settings
from werkzeug.datastructures import MultiDict
from werkzeug.test import Client

from webhook_app.app import create_app
from webhook_app.forms import AmbiguousParameter, SingleValued
from webhook_app.metrics import Metrics
from webhook_app.store_sqlite import SqliteStore

CALL = "CA0123456789abcdef0123456789abcdef"
FIXED = {"AccountSid": "AC" + "0" * 32, "CallSid": CALL, "From": "+12125550199"}
FLOWS = main_flow_with(
    byoc_routes={
        "+14155550150": {"sip_user": "alice"},
        "+14155550151": {"dial": {"numbers": ["+14155550160"]}},
    }
)


@dataclass(frozen=True)
class Case:
    """A flow, the parameter that decides its route, and values that lead different ways."""

    path: str
    name: str
    values: tuple[str, ...]


CASES = [
    Case("/voice/menu", "Digits", ("1", "2", "7", "9", "")),
    Case("/voice/menu", "SpeechResult", ("sales", "support", "a message", "pardon")),
    Case("/voice/menu", "CallSid", (CALL, "CA" + "1" * 32)),
    Case(
        "/voice/sip/inbound",
        "To",
        ("sip:alice@acme.sip.twilio.com", "sip:+14155550123@acme.sip.twilio.com", "sip:x@y"),
    ),
    Case("/voice/byoc/inbound", "To", ("+14155550150", "+14155550151", "+14155550199")),
    Case(
        "/voice/dial/status?step=sip.alice",
        "DialCallStatus",
        ("completed", "no-answer", "busy"),
    ),
    Case("/voice/transfer", "CallSid", (CALL, "CA" + "2" * 32)),
    Case("/voice/inbound", "CallSid", (CALL, "")),
    Case("/voice/status", "CallStatus", ("completed", "busy")),
    Case("/voice/status", "Timestamp", ("Tue, 24 Nov 2026 10:00:00 +0000", "t2")),
    Case("/voice/recording/status", "RecordingStatus", ("completed", "failed")),
]


def _send(
    tmp: Path, n: int, path: str, pairs: list[tuple[str, str]]
) -> tuple[int, bytes, list[object]]:
    """Post ``pairs`` (in this order) to a fresh app; its status, body and what it stored."""
    store = SqliteStore(str(tmp / f"s{n}.sqlite3"))
    try:
        app = create_app(
            make_settings(caller_id="+14155550199", call_flows=FLOWS), store, metrics=Metrics()
        )
        signature = RequestValidator(TOKEN).compute_signature(BASE + path, MultiDict(pairs))
        response = Client(app).post(
            path,
            base_url=BASE,
            data=urlencode(pairs),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
            buffered=True,
        )
        stored: list[object] = [*store.call_events(), *store.recording_jobs()]
        return response.status_code, response.data, stored
    finally:
        store.close()


def _base_pairs(case: Case) -> list[tuple[str, str]]:
    pairs = [(k, v) for k, v in FIXED.items() if k != case.name]
    if case.path.startswith("/voice/recording"):
        pairs += [("RecordingSid", "RE" + "0" * 32), ("RecordingUrl", "https://api.twilio.com/r")]
    if case.path == "/voice/status" and case.name != "CallStatus":
        pairs.append(("CallStatus", "completed"))
    if case.path.startswith("/voice/recording") and case.name != "RecordingStatus":
        pairs.append(("RecordingStatus", "completed"))
    return pairs


@settings(max_examples=60, deadline=None)
@given(
    case=st.sampled_from(CASES),
    picks=st.lists(st.integers(0, 4), min_size=2, max_size=3),
    where=st.integers(0, 5),
)
def test_reordering_repeated_values_cannot_change_the_route(
    tmp_path_factory: pytest.TempPathFactory, case: Case, picks: list[int], where: int
) -> None:
    tmp = tmp_path_factory.mktemp("repeat")
    values = [case.values[i % len(case.values)] for i in picks]
    base = _base_pairs(case)
    cut = where % (len(base) + 1)
    outcomes = set()
    for n, order in enumerate(set(itertools.permutations(values))):
        pairs = [*base[:cut], *((case.name, v) for v in order), *base[cut:]]
        status, body, stored = _send(tmp, n, case.path, pairs)
        outcomes.add((status, body, repr(stored)))
    assert len(outcomes) == 1, (case, values, outcomes)
    [outcome] = outcomes
    if len(set(values)) > 1:
        assert outcome[0] == 400  # Twilio sends each parameter once: a conflict is refused
    else:  # the same value twice is just that value, sent once
        status, body, stored = _send(tmp, -1, case.path, [*base, (case.name, values[0])])
        assert outcome == (status, body, repr(stored))


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        (["1", "1"], b"<Number>+14155550101</Number>"),  # sales, as for Digits=1
        (["1", "7"], b"Digits parameter is repeated"),
        (["7", "1"], b"Digits parameter is repeated"),
    ],
)
def test_a_repeated_digit(tmp_path: Path, digits: list[str], expected: bytes) -> None:
    pairs = [*FIXED.items(), *(("Digits", d) for d in digits)]
    _, body, _ = _send(tmp_path, 0, "/voice/menu", pairs)
    assert expected in body


def test_names_no_flow_reads_may_repeat(tmp_path: Path) -> None:
    # e.g. a SIP header Twilio passes on as SipHeader_X-...: no flow reads it, so no conflict.
    pairs = [*FIXED.items(), ("SipHeader_X-Tag", "a"), ("SipHeader_X-Tag", "b"), ("Digits", "1")]
    status, body, _ = _send(tmp_path, 0, "/voice/menu", pairs)
    assert status == 200
    assert b"<Number>+14155550101</Number>" in body


def test_single_valued_mapping() -> None:
    params = SingleValued([("a", "1"), ("b", "2"), ("a", "1"), ("c", "3"), ("c", "4")])
    assert params["a"] == "1"
    assert params.get("b") == "2"
    assert params.get("missing", "x") == "x"
    assert params.ambiguous == frozenset({"c"})
    assert "c" in params
    with pytest.raises(AmbiguousParameter):
        params.get("c")
    with pytest.raises(AmbiguousParameter):
        params["c"]
    assert dict(params.unambiguous()) == {"a": "1", "b": "2"}
    assert SingleValued([("a", "1")]).unambiguous() == {"a": "1"}
