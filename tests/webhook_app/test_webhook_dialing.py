"""The dialing guard: numbers a SIP user dials out to (sip_inbound) are checked first."""

from __future__ import annotations

import logging

import pytest
from webhook_support import AppFactory, built_in_with, make_settings

from webhook_app.dialing import Refusal, refusal

CALL = "CA0123456789abcdef0123456789abcdef"
REFUSED = b"Sorry, calls to that number are not allowed. Goodbye.</Say><Hangup />"


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+19002345678", Refusal("premium_rate", "US")),  # +1 900
        ("+19005550123", Refusal("premium_rate", "US")),
        ("+449012345678", Refusal("premium_rate", "GB")),
        ("+33884012345", Refusal("shared_cost", "FR")),
        ("+4918012345", Refusal("shared_cost", "DE")),
        ("+88213456789", Refusal("non_geographic", "001")),  # +882 international networks
        ("+883510012345", Refusal("non_geographic", "001")),
        ("+80012345678", Refusal("non_geographic", "001")),
        ("+882123456789", Refusal("invalid", "")),  # no valid +882 number: the E.164 rule
        ("+1415555012", Refusal("invalid", "")),
        ("+14155550123", None),
        ("+442071838750", None),
    ],
)
def test_refusal_without_a_country_list(number: str, expected: Refusal | None) -> None:
    assert refusal(number) == expected


def test_refusal_with_a_country_list() -> None:
    allowed = ("US", "CA")
    assert refusal("+14155550123", allowed) is None
    assert refusal("+14165550123", allowed) is None  # Toronto
    assert refusal("+442071838750", allowed) == Refusal("country", "GB")
    assert refusal("+19002345678", allowed) == Refusal("premium_rate", "US")  # type first
    assert refusal("+14155550123", ()) == Refusal("country", "US")  # an empty list: none


def _sip(
    make_twilio: AppFactory,
    to: str,
    dial_region: str | None = None,
    dial_countries: tuple[str, ...] | None = None,
) -> bytes:
    settings = make_settings(
        caller_id="+14155550199",
        call_flows=built_in_with(dial_region=dial_region),
        dial_countries=dial_countries,
    )
    response = make_twilio(settings).post(
        "/voice/sip/inbound", {"CallSid": CALL, "To": f"sip:{to}@acme.sip.twilio.com"}
    )
    assert response.status_code == 200
    return bytes(response.data)


@pytest.mark.parametrize(
    ("user", "region"),
    [
        ("+88213456789", None),
        ("+19002345678", None),
        ("19002345678", "US"),  # national dialling through dial_region
        ("01188213456789", "US"),  # international dialling prefix to +882
        ("+33884012345", None),  # shared cost
    ],
)
def test_a_sip_user_dialling_premium_or_international_networks_is_refused(
    make_twilio: AppFactory, user: str, region: str | None
) -> None:
    body = _sip(make_twilio, user, dial_region=region)
    assert body.endswith(REFUSED + b"</Response>")
    assert b"<Dial" not in body


def test_the_refusal_is_logged_with_its_reason(
    make_twilio: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="webhook_app"):
        _sip(make_twilio, "+19002345678")
    [record] = [r for r in caplog.records if r.getMessage().startswith("dial refused")]
    fields = record.__dict__
    assert (fields["reason"], fields["country"], fields["call_sid"]) == (
        "premium_rate",
        "US",
        CALL,
    )
    assert fields["to"] == "+1900****678"  # masked


def test_countries_outside_dial_countries_are_refused(make_twilio: AppFactory) -> None:
    allowed = ("US", "CA")  # the artifact's dial_countries (the stack's dialing permissions)
    assert REFUSED in _sip(make_twilio, "+442071838750", dial_countries=allowed)
    assert b"<Number>+14165550123</Number>" in _sip(
        make_twilio, "+14165550123", dial_countries=allowed
    )
    # Without the setting every country may be dialled; premium numbers still may not.
    assert b"<Number>+442071838750</Number>" in _sip(make_twilio, "+442071838750")


def test_ordinary_numbers_and_sip_users_are_still_put_through(make_twilio: AppFactory) -> None:
    assert b"<Number>+14155550123</Number>" in _sip(make_twilio, "+14155550123")
    assert b"<Sip>sip:alice@pbx.example.com</Sip>" in _sip(make_twilio, "alice")
