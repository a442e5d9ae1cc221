# ruff: noqa: S314 (parses the app's own TwiML, not untrusted input)
"""Fuzz: arbitrary requests never get a 5xx, and every TwiML response is well-formed XML."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from webhook_support import BASE, TOKEN, main_flow_with, make_settings
from werkzeug.test import Client

from webhook_app.app import create_app
from webhook_app.callflow.model import Action, Menu, Option, VoicemailBox, VoicemailDrop
from webhook_app.logs import configure_logging
from webhook_app.metrics import Metrics
from webhook_app.rendering import Renderer, make_environment
from webhook_app.routes import ROUTES
from webhook_app.store_sqlite import SqliteStore

BATCH = 10
EXAMPLES = 1000  # x BATCH = 10,000 requests through the app

PARAM_NAMES = [
    "CallSid",
    "From",
    "To",
    "Digits",
    "SpeechResult",
    "CallStatus",
    "Timestamp",
    "DialCallStatus",
    "RecordingSid",
    "RecordingStatus",
    "RecordingUrl",
    "Caller",
    "CallDuration",
    "SequenceNumber",
    "AccountSid",
]
nasty = st.text(max_size=24) | st.sampled_from(
    [
        "",
        "1",
        "#",
        "sip:alice@x.sip.twilio.com",
        "sip:+14155550100@x",
        "completed",
        "no-answer",
        "<Say>&amp;</Say>",
        "\x00\x1f\ufffe",
        "sip:a@b;transport=tls",
        "tel:+14155550100",
        "+14155550151",
        "pstn",
        "agent",
        "supervisor",
    ]
)
forms = st.dictionaries(st.sampled_from(PARAM_NAMES) | st.text(max_size=6), nasty, max_size=8)
paths = st.sampled_from([r.path for r in ROUTES]) | st.sampled_from(
    ["/", "/voice", "/voice/inbound/", "//voice/menu", "/voice/%00", "/voice/inbound/../menu"]
)
queries = st.sampled_from(
    [
        "",
        "then=pstn&user=alice",
        "then=voicemail",
        "leg=agent",
        "leg=supervisor&customer=CA1",
        "then=pstn&user=",
        "leg=",
    ]
) | st.dictionaries(
    st.sampled_from(["then", "user", "leg", "customer", "bodySHA256"]), nasty, max_size=3
).map(urlencode)
methods = st.sampled_from(["POST", "POST", "POST", "GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=zz",
        "",
        "x/\x7f",
    ]
)
signatures = st.sampled_from(["valid", "valid", "valid", "missing", "garbage"])
extra_headers = st.dictionaries(
    st.sampled_from(
        [
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
            "X-Forwarded-Prefix",
            "X-Twilio-Webhooks-Signature-Settings",
            "Content-Length",
            "Host",
        ]
    ),
    st.sampled_from(
        [
            "https",
            "evil.example",
            "a, b",
            "algorithm=HMAC_SHA256",
            "algorithm=MD5",
            "-1",
            "abc",
            "99999999",
            "0",
            "/prefix",
            "",
        ]
    ),
    max_size=2,
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    path, query = draw(paths), draw(queries)
    content_type = draw(content_types)
    if draw(st.integers(0, 4)) == 0:
        body: bytes | str = draw(st.binary(max_size=80))
    elif content_type == "application/json":
        body = draw(
            st.sampled_from(
                [
                    '{"CallSid":"CA1","CallStatus":"completed"}',
                    "[]",
                    "{",
                    "null",
                    '{"To": {"a": 1}}',
                    "[" * 20_000,  # deeper than the JSON parser's recursion limit
                    '{"CallSid": "CA1", "Nested": ' + "[" * 3_000 + "]" * 3_000 + "}",
                ]
            )
        )
    else:
        body = urlencode(draw(forms))
    return {
        "method": draw(methods),
        "path": path,
        "query": query,
        "content_type": content_type,
        "body": body,
        "signature": draw(signatures),
        "headers": draw(extra_headers),
    }


def _sign(req: dict[str, Any]) -> str:
    url = BASE + req["path"] + (f"?{req['query']}" if req["query"] else "")
    body = req["body"]
    validator = RequestValidator(TOKEN)
    if isinstance(body, bytes) and not req["content_type"].startswith("application/json"):
        return "bm9wZQ=="
    if req["content_type"].startswith("application/json"):
        return str(validator.compute_signature(url, {}))
    from urllib.parse import parse_qsl

    from werkzeug.datastructures import MultiDict

    return str(validator.compute_signature(url, MultiDict(parse_qsl(body, keep_blank_values=True))))


def _send(client: Client, req: dict[str, Any]) -> Any:
    headers = dict(req["headers"])
    body = req["body"]
    if req["signature"] == "valid" and req["content_type"] == "application/json":
        # Twilio signs a JSON body through the URL: ?bodySHA256=<hex digest of the body>.
        digest = hashlib.sha256(body.encode() if isinstance(body, str) else body).hexdigest()
        query = req["query"] + "&" if req["query"] else ""
        req = {**req, "query": f"{query}bodySHA256={digest}"}
    if req["signature"] == "valid":
        headers["X-Twilio-Signature"] = _sign(req)
    elif req["signature"] == "garbage":
        headers["X-Twilio-Signature"] = "\u00e9garbage"
    path = req["path"] + (f"?{req['query']}" if req["query"] else "")
    return client.open(
        path,
        base_url=BASE,
        method=req["method"],
        data=req["body"],
        content_type=req["content_type"] or None,
        headers=headers,
        buffered=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("hops", [0, 1])
def test_no_5xx_and_well_formed_twiml_for_any_request(tmp_path: Any, hops: int) -> None:
    store = SqliteStore(str(tmp_path / "fuzz.sqlite3"))
    flows = main_flow_with(byoc_routes={"+14155550151": {"sip_user": "alice"}})
    app = create_app(
        make_settings(trusted_proxy_hops=hops, call_flows=flows),
        store,
        metrics=Metrics(),
        logger=configure_logging("CRITICAL"),
    )
    client = Client(app)
    sent = {"requests": 0, "twiml": 0, "signed_json": 0}

    @settings(
        max_examples=EXAMPLES // 2,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(requests(), min_size=BATCH, max_size=BATCH))
    def run(batch: list[dict[str, Any]]) -> None:
        for req in batch:
            response = _send(client, req)
            sent["requests"] += 1
            assert response.status_code < 500, (req, response.status_code, response.data[:300])
            if response.status_code == 200 and response.mimetype == "text/xml":
                ET.fromstring(response.data)
                sent["twiml"] += 1
            json_body = req["content_type"] == "application/json" and req["signature"] == "valid"
            if json_body and response.status_code not in (403, 404, 405):
                sent["signed_json"] += 1

    run()
    # two parametrized runs x EXAMPLES/2 x BATCH = 10,000 requests in total
    assert sent["requests"] >= EXAMPLES // 2 * BATCH
    assert sent["twiml"] > 0  # the fuzz reached the flows, not only the signature check
    assert sent["signed_json"] > 0  # and signed JSON bodies got past the signature check


# --- every template renders well-formed XML whatever text it is given -----------------------

text_values = st.text(max_size=30)
RENDERER = Renderer(make_environment())  # compiled once; the property varies only the values


def _menu(prompt: str, message: str, target: str) -> Menu:
    """A speech menu whose every text is arbitrary (built unchecked, as no stack could)."""
    option = Option.model_construct(
        digit="#", label=target, keywords=(message,), action=Action(hangup="")
    )
    return Menu.model_construct(
        prompt=prompt,
        speech=True,
        hints=(message, target),
        timeout=5,
        speech_timeout="auto",
        retries=2,
        invalid=message,
        no_input=message,
        first_silence="hangup",
        silence_message=message,
        exhausted=None,
        options=(option,),
    )


@settings(max_examples=300, deadline=None)
@given(
    prompt=text_values,
    message=text_values,
    target=text_values,
    number=text_values,
    leg=st.sampled_from(["customer", "agent", "supervisor"]),
)
def test_every_template_is_well_formed_for_any_text(
    prompt: str, message: str, target: str, number: str, leg: str
) -> None:
    menu = _menu(prompt, message, target)
    voice = SimpleNamespace(
        voice=target,
        language=message,
        goodbye=prompt,
        fallback_message=message,
        transferring=target,
    )
    box = VoicemailBox.model_construct(prompt=prompt, max_seconds=60, thanks=message)
    drop = VoicemailDrop.model_construct(message=message, url=None)
    record = "record-from-answer"
    contexts: dict[str, dict[str, Any]] = {
        "menu": {"menu": menu, "voice": voice, "action": target},
        "menu_reprompt": {"menu": menu, "voice": voice, "message": message, "action": target},
        "hangup": {"voice": voice, "message": message},
        "operator": {
            "voice": voice,
            "message": message,
            "numbers": (number, target),
            "caller_id": target,
            "timeout": 20,
            "action": message,
            "record": record,
            "recording_callback": target,
        },
        "dial": {
            "voice": voice,
            "numbers": (number,),
            "caller_id": target,
            "timeout": 20,
            "action": message,
            "record": record,
            "recording_callback": prompt,
        },
        "sip_user": {
            "sip_uri": target,
            "timeout": 20,
            "action": message,
            "record": message,
            "recording_callback": prompt,
        },
        "flow": {"action": message},
        "call_completed": {},
        "call_rejected": {},
        "conference": {
            "leg": leg,
            "label": message,
            "room": target,
            "record": True,
            "recording_callback": message,
            "conference_callback": target,
        },
        "voicemail": {
            "box": box,
            "voice": voice,
            "action": message,
            "recording_callback": target,
        },
        "voicemail_done": {"box": box, "voice": voice},
        "voicemail_drop": {"drop": drop, "voice": voice},
        "voice_fallback": {
            "voice": voice,
            "numbers": (number,),
            "caller_id": None,
            "timeout": 20,
            "record": record,
            "recording_callback": target,
        },
    }
    consent = RENDERER.render("consent", message=message, voice=voice).body
    assert ET.fromstring(b"<Response>" + consent + b"</Response>").tag == "Response"
    for step, context in contexts.items():
        twiml = RENDERER.render(step, **context)
        root = ET.fromstring(twiml.body)
        assert root.tag == "Response", step


def test_every_template_is_covered() -> None:
    from webhook_app.rendering import TWIML_DIR

    steps = {p.stem for p in TWIML_DIR.glob("*.xml") if not p.name.startswith("_")}
    assert steps == {
        "menu",
        "menu_reprompt",
        "hangup",
        "operator",
        "dial",
        "sip_user",
        "flow",
        "consent",
        "call_completed",
        "call_rejected",
        "conference",
        "voicemail",
        "voicemail_done",
        "voicemail_drop",
        "voice_fallback",
    }
