"""Pure parts of infra.client / infra.errors: credentials, backoff, errors, retry loop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from infra.client import (
    Credentials,
    RetryPolicy,
    TwilioApi,
    backoff_delay,
    error_from_response,
    get_api,
    parse_retry_after,
    resolve_credentials,
)
from infra.errors import (
    ConfigurationError,
    NotFoundError,
    TransportError,
    TwilioApiError,
    hint_for,
    scrub,
)
from infra.resources import fingerprint

AC = "AC" + "1" * 32
AC2 = "AC" + "2" * 32
SK = "SK" + "3" * 32


@pytest.mark.parametrize(
    ("config", "env", "expected"),
    [
        ({}, {"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": "t"}, (AC, AC, "t", None, None)),
        (
            {"twilio:accountSid": AC2, "twilio:authToken": "c"},
            {"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": "t"},
            (AC2, AC2, "c", None, None),
        ),
        (
            {"twilio:apiKey": SK, "twilio:apiSecret": "s", "twilio:edge": "dublin"},
            {"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": "t", "TWILIO_REGION": "ie1"},
            (AC, SK, "s", "dublin", "ie1"),
        ),
        (
            {},
            {"TWILIO_ACCOUNT_SID": AC, "TWILIO_API_KEY": SK, "TWILIO_API_SECRET": "s"},
            (AC, SK, "s", None, None),
        ),
    ],
    ids=["env", "config wins", "api key from config, region from env", "api key from env"],
)
def test_resolve_credentials(
    config: dict[str, Any], env: dict[str, str], expected: tuple[Any, ...]
) -> None:
    c = resolve_credentials(config, env)
    assert (c.account_sid, c.username, c.password, c.edge, c.region) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "twilio:accountSid"),
        ({"TWILIO_ACCOUNT_SID": "nope"}, "Account SID"),
        ({"TWILIO_ACCOUNT_SID": AC}, "twilio:authToken"),
        ({"TWILIO_ACCOUNT_SID": AC, "TWILIO_API_KEY": SK}, "twilio:apiSecret"),
    ],
)
def test_resolve_credentials_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_credentials({}, env)


def test_credentials_never_show_the_secret() -> None:
    c = Credentials(AC, AC, "super-secret-token")
    assert "super-secret-token" not in repr(c)
    assert "super-secret-token" not in c.cache_key


def test_backoff_is_capped_full_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    caps: list[float] = []
    for attempt in range(1, 7):
        backoff_delay(attempt, policy, None, lambda cap: caps.append(cap) or 0.0)
    assert caps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff_delay(1, policy, 3.0, lambda cap: 0.1) == 3.0
    assert backoff_delay(3, policy, 0.5, lambda cap: cap) == 2.0
    assert 0.0 <= backoff_delay(4, policy, None) <= 4.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("2", 2.0), ("1.5", 1.5), ("-3", 0.0), ("soon", None)],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


def test_error_from_response() -> None:
    body = '{"code": 20404, "message": "The requested resource was not found", "status": 404}'
    error = error_from_response(404, body, {"Retry-After": "3"})
    assert isinstance(error, NotFoundError)
    assert (error.code, error.retry_after, error.retryable) == (20404, 3.0, False)
    named = error.for_resource("SipDomain acme.sip.twilio.com")
    assert str(named).startswith(
        "Twilio 20404: The requested resource was not found (SipDomain acme.sip.twilio.com); hint:"
    )
    plain = error_from_response(502, "<html>bad gateway</html>", None)
    assert (plain.code, plain.message, plain.retryable) == (None, "HTTP 502", True)
    assert str(plain) == "Twilio 502: HTTP 502"
    assert error_from_response(429, '{"code": 20429, "message": "Too many"}', {}).retryable


def test_hints_and_scrubbing() -> None:
    assert "twilio:authToken" in (hint_for(20003) or "")
    assert hint_for(21212) is not None
    assert "30 days" in (hint_for(21248) or "")  # Twilio's trunk-domain reservation
    assert hint_for(99999) is None
    assert hint_for(None) is None
    error = TwilioApiError(400, 21601, "bad Password Str0ngPassw0rd")
    assert "Str0ngPassw0rd" not in str(error.for_resource("Credential alice", ["Str0ngPassw0rd"]))
    assert scrub("a secret b", [None, "", "secret"]) == "a *** b"
    assert TransportError(message="ConnectionError: refused").retryable


class ScriptedApi(TwilioApi):
    """TwilioApi whose HTTP exchange replays a script of results/errors."""

    def __init__(self, script: list[Any], policy: RetryPolicy | None = None) -> None:
        self.sleeps: list[float] = []
        super().__init__(
            Credentials(AC, AC, "t"), policy, sleep=self.sleeps.append, jitter=lambda c: c
        )
        self.script = list(script)
        self.calls: list[str] = []

    def send_once(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        self.calls.append(method)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        result: dict[str, Any] | None = step
        return result


def _err(status: int) -> TwilioApiError:
    return TwilioApiError(status, None, f"HTTP {status}")


def test_create_looks_up_after_each_failure_and_adopts() -> None:
    api = ScriptedApi([_err(500)])
    lookups: list[int] = []

    def lookup() -> dict[str, Any] | None:
        lookups.append(1)
        return {"sid": "SD1"}

    assert api.create("api", "/x", {}, lookup) == ({"sid": "SD1"}, True)
    assert api.calls == ["POST"]
    assert lookups == [1]


def test_create_retries_when_lookup_finds_nothing() -> None:
    api = ScriptedApi([_err(429), TransportError(), {"sid": "SD2"}])
    assert api.create("api", "/x", {}, lambda: None) == ({"sid": "SD2"}, False)
    assert api.calls == ["POST", "POST", "POST"]
    assert api.sleeps == [0.5, 1.0]


def test_create_does_not_retry_client_errors() -> None:
    api = ScriptedApi([_err(400)])
    with pytest.raises(TwilioApiError):
        api.create("api", "/x", {}, lambda: pytest.fail("no lookup after a 400"))
    assert api.sleeps == []


def test_idempotent_requests_stop_after_max_attempts() -> None:
    api = ScriptedApi([_err(503)] * 3, RetryPolicy(max_attempts=3))
    with pytest.raises(TwilioApiError):
        api.request("GET", "api", "/x")
    assert api.calls == ["GET"] * 3
    assert len(api.sleeps) == 2


def test_list_follows_pages() -> None:
    api = ScriptedApi(
        [
            {
                "meta": {
                    "key": "trunks",
                    "next_page_url": "https://trunking.twilio.com/v1/Trunks?Page=1",
                },
                "trunks": [{"sid": "TK1"}],
            },
            {"meta": {"key": "trunks", "next_page_url": None}, "trunks": [{"sid": "TK2"}]},
        ]
    )
    assert [r["sid"] for r in api.list("trunking", "/v1/Trunks")] == ["TK1", "TK2"]
    api2 = ScriptedApi(
        [
            {
                "domains": [{"sid": "SD1"}],
                "next_page_uri": "/2010-04-01/Accounts/AC/SIP/Domains.json?Page=1",
                "page": 0,
            },
            {"domains": [{"sid": "SD2"}], "next_page_uri": None, "page": 1},
        ]
    )
    assert [r["sid"] for r in api2.list("api", "/2010-04-01/Accounts/AC/SIP/Domains.json")] == [
        "SD1",
        "SD2",
    ]


def test_get_api_builds_one_client_per_credentials() -> None:
    env = {"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": "t"}
    first = get_api({}, env)
    assert get_api({}, env) is first
    assert get_api({}, {**env, "TWILIO_AUTH_TOKEN": "u"}) is not first
    assert first.client is first.client  # built once, lazily


def test_client_applies_edge_and_region() -> None:
    api = get_api(
        {"twilio:edge": "dublin", "twilio:region": "ie1"},
        {"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": "t"},
    )
    assert (
        api.client.get_hostname("https://api.twilio.com/2010-04-01")
        == "https://api.dublin.ie1.twilio.com/2010-04-01"
    )


def test_a_region_without_an_edge_gets_the_regions_home_edge() -> None:
    env = {"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": "t", "TWILIO_REGION": "au1"}
    api = get_api({}, env)
    assert (
        api.client.get_hostname("https://api.twilio.com/2010-04-01")
        == "https://api.sydney.au1.twilio.com/2010-04-01"  # not the legacy api.au1.twilio.com
    )
    assert resolve_credentials({"twilio:region": "ie1"}, env).edge == "dublin"
    with pytest.raises(ConfigurationError, match="set twilio:edge or TWILIO_EDGE"):
        resolve_credentials({}, {**env, "TWILIO_REGION": "jp1"})
    explicit = resolve_credentials({"twilio:edge": "tokyo"}, {**env, "TWILIO_REGION": "jp1"})
    assert (explicit.edge, explicit.region) == ("tokyo", "jp1")


def test_fingerprint_round_trip() -> None:
    stored = fingerprint.fingerprint("Str0ngPassw0rd")
    assert stored.startswith("scrypt$16384$8$1$")
    assert "Str0ngPassw0rd" not in stored
    assert fingerprint.matches("Str0ngPassw0rd", stored)
    assert not fingerprint.matches("Str0ngPassw0rD", stored)
    assert fingerprint.fingerprint("Str0ngPassw0rd") != stored  # random salt per resource
    assert not fingerprint.matches("x", None)
    assert not fingerprint.matches("x", "garbage")
