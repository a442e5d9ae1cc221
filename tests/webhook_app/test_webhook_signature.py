"""The direct signature check decides exactly as twilio's RequestValidator does."""

from __future__ import annotations

import hashlib
import json
import logging
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from webhook_app.signature import (
    HMAC_SHA1,
    HMAC_SHA256,
    is_valid_signature,
    params_string,
    signature_algorithm,
)

TOKEN = "12345-auth-token"
# The SDK logs a warning for each unsupported algorithm it is asked about.
logging.getLogger("twilio.request_validator").setLevel(logging.ERROR)
URL = "https://voice.example.test/voice/inbound?then=pstn&user=alice"


def sdk_decision(
    token: str, uri: str, params: list[tuple[str, str]] | str, sig: str, algorithm: str | None
) -> bool:
    """The SDK's answer; where the SDK raises, the request must be refused (False)."""
    sdk_params: MultiDict[str, str] | str = params if isinstance(params, str) else MultiDict(params)
    try:
        return bool(RequestValidator(token).validate(uri, sdk_params, sig, algorithm))
    except (ValueError, TypeError, UnicodeError):
        return False


def mine(
    token: str, uri: str, params: list[tuple[str, str]] | str, sig: str, algorithm: str | None
) -> bool:
    return is_valid_signature(token.encode("utf-8"), uri, params, sig, algorithm)


# --- strategies: URLs, parameters and signatures close enough to collide with real ones ---------

hosts = st.sampled_from(
    [
        "voice.example.test",
        "voice.example.test:443",
        "voice.example.test:80",
        "voice.example.test:8443",
        "127.0.0.1:8102",
        "h:0",
        "h:abc",
        "h:99999",
        "[::1]:8080",
        "",
    ]
)
schemes = st.sampled_from(["https", "http", "HTTPS", "ftp", ""])
paths = st.sampled_from(["/voice/inbound", "/voice/menu", "/", "", "/a%20b", "/é"])
queries = st.one_of(
    st.just(""),
    st.sampled_from(["then=pstn&user=alice", "bodySHA256=", "a=1&a=2", "x"]),
    st.text(max_size=12).map(lambda t: urlencode({"k": t})),
)
text = st.text(max_size=8)  # includes unicode and lone surrogates
pairs = st.lists(
    st.tuples(st.sampled_from(["CallSid", "From", "To", "Digits", "a", "A", ""]) | text, text),
    max_size=6,
)
algorithms = st.sampled_from([None, HMAC_SHA1, HMAC_SHA256, "hmac_sha256", "MD5", ""])


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme, host, path, query = draw(schemes), draw(hosts), draw(paths), draw(queries)
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]] | str, str, str | None]:
    """A (url, params, signature, algorithm), signed correctly for a nearby request or not."""
    url = draw(urls())
    algorithm = draw(algorithms)
    params: list[tuple[str, str]] | str
    if draw(st.booleans()):
        params = draw(pairs)
    else:
        params = draw(st.sampled_from(['{"a":1}', "", "{}"]) | text)
        if draw(st.booleans()):  # a JSON request: the body hash rides in the query string
            digest = hashlib.sha256(params.encode("utf-8", "replace")).hexdigest()
            url += (
                "&" if "?" in url else "?"
            ) + f"bodySHA256={draw(st.sampled_from([digest, digest.upper(), '0']))}"
    # Mostly sign this very request (so both accept and refuse paths are well covered), else a
    # variant of it or another request, with the right or a wrong token.
    exact = draw(st.integers(0, 9)) < 6
    signer_url = (
        url
        if exact
        else draw(st.sampled_from([url, url.replace(":443", ""), url.replace("https", "http")]))
    )
    signer_params = params if exact or draw(st.booleans()) else draw(pairs)
    signer_token = TOKEN if exact else draw(st.sampled_from([TOKEN, TOKEN + "x"]))
    try:
        sdk_signer = (
            signer_params
            if isinstance(signer_params, str) and "bodySHA256" in url
            else ({} if isinstance(signer_params, str) else MultiDict(signer_params))
        )
        signature = RequestValidator(signer_token).compute_signature(
            signer_url, sdk_signer, algorithm if algorithm in (HMAC_SHA1, HMAC_SHA256) else None
        )
    except (ValueError, TypeError, UnicodeError):
        signature = "bm90LWEtc2lnbmF0dXJl"
    if not exact:
        signature = draw(st.sampled_from([signature, signature[:-1], "", signature + " "]) | text)
    return url, params, signature, algorithm


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_decides_exactly_as_the_sdk(
    case: tuple[str, list[tuple[str, str]] | str, str, str | None],
) -> None:
    url, params, signature, algorithm = case
    assert mine(TOKEN, url, params, signature, algorithm) == sdk_decision(
        TOKEN, url, params, signature, algorithm
    )


@settings(max_examples=300, deadline=None)
@given(urls(), pairs, algorithms)
def test_accepts_what_the_sdk_signs(
    url: str, params: list[tuple[str, str]], algorithm: str | None
) -> None:
    try:
        sig = RequestValidator(TOKEN).compute_signature(url, MultiDict(params), algorithm)
    except (ValueError, UnicodeError):
        return  # the SDK cannot sign it either
    assert mine(TOKEN, url, params, sig, algorithm) == sdk_decision(
        TOKEN, url, params, sig, algorithm
    )


def _sign(url: str, params: dict[str, str]) -> str:
    return str(RequestValidator(TOKEN).compute_signature(url, params))


FORM = {"CallSid": "CA123", "From": "+12125550199", "To": "+14155550100", "Digits": "1"}


def test_sdk_signature_is_accepted() -> None:
    assert mine(TOKEN, URL, list(FORM.items()), _sign(URL, FORM), None)


def test_default_port_either_way() -> None:
    signed_without = _sign("https://voice.example.test/voice/inbound", FORM)
    assert mine(
        TOKEN,
        "https://voice.example.test:443/voice/inbound",
        list(FORM.items()),
        signed_without,
        None,
    )
    signed_with = _sign("https://voice.example.test:443/voice/inbound", FORM)
    assert mine(
        TOKEN, "https://voice.example.test/voice/inbound", list(FORM.items()), signed_with, None
    )


@pytest.mark.parametrize(
    ("url", "params", "token"),
    [
        pytest.param(URL.replace("alice", "bob"), FORM, TOKEN, id="tampered-url"),
        pytest.param(URL.replace("https", "http"), FORM, TOKEN, id="other-scheme"),
        pytest.param(URL, {**FORM, "Digits": "2"}, TOKEN, id="tampered-body"),
        pytest.param(URL, {**FORM, "Extra": ""}, TOKEN, id="added-parameter"),
        pytest.param(URL, {k: v for k, v in FORM.items() if k != "Digits"}, TOKEN, id="dropped"),
        pytest.param(URL, FORM, "wrong-token", id="wrong-token"),
    ],
)
def test_tampering_is_refused(url: str, params: dict[str, str], token: str) -> None:
    signature = _sign(URL, FORM)
    assert not mine(token, url, list(params.items()), signature, None)


def test_parameter_order_cannot_be_shifted_between_names_and_values() -> None:
    # "ab"+"c" and "a"+"bc" concatenate alike; Twilio's scheme accepts that, and so must we
    # (deciding as the SDK does), but moving a value to another *sorted* position must fail.
    signature = _sign(URL, {"ab": "c"})
    assert mine(TOKEN, URL, [("a", "bc")], signature, None) == sdk_decision(
        TOKEN, URL, [("a", "bc")], signature, None
    )
    assert not mine(TOKEN, URL, [("c", "ab")], signature, None)


def test_repeated_and_reordered_values_sign_as_the_sdk() -> None:
    params = [("b", "2"), ("a", "z"), ("a", "y"), ("a", "y")]
    signature = str(RequestValidator(TOKEN).compute_signature(URL, MultiDict(params)))
    assert mine(TOKEN, URL, list(reversed(params)), signature, None)
    assert params_string(params) == "ayazb2"


def test_json_body_with_body_sha256() -> None:
    body = json.dumps({"CallSid": "CA123", "Status": "completed"})
    url = f"{URL}&bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    signature = str(RequestValidator(TOKEN).compute_signature(url, {}))
    assert mine(TOKEN, url, body, signature, None)
    assert not mine(TOKEN, url, body.replace("completed", "failed"), signature, None)
    assert not mine(TOKEN, URL, body, signature, None)  # no bodySHA256: cannot be checked


def test_missing_signature_is_refused() -> None:
    assert not mine(TOKEN, URL, list(FORM.items()), "", None)


def test_signature_algorithm_header() -> None:
    assert signature_algorithm(None) == HMAC_SHA1
    assert signature_algorithm("key=webhooks_sharedkey_1,algorithm=HMAC_SHA256") == HMAC_SHA256
    assert signature_algorithm("key=only") == HMAC_SHA1
