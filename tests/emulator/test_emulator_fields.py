"""Pure parts: field parsing, domain and password rules, paging windows, the kind table."""

from __future__ import annotations

import pytest

from emulator.catalog import BY_NAME, KINDS
from emulator.errors import TwilioError
from emulator.fields import Field, check_password, domain_suffix_check, pascal
from emulator.render import _page_window, format_date, twilio_path


def test_pascal_matches_the_sdk_form_names() -> None:
    assert pascal("voice_url") == "VoiceUrl"
    assert pascal("cidr_prefix_length") == "CidrPrefixLength"
    assert pascal("voice_caller_id_lookup") == "VoiceCallerIdLookup"


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (Field("x", "bool"), "True", True),
        (Field("x", "bool"), "false", False),
        (Field("x", "method", default="POST"), "get", "GET"),
        (Field("x", "method", default="POST"), "", "POST"),  # empty clears to the default
        (Field("x", "int", minimum=0, maximum=32), "32", 32),
        (Field("x", "url"), "https://a.example/v?x=1", "https://a.example/v?x=1"),
        (Field("x", "url"), "", None),
        (Field("x", "sid", prefix="TK"), "TK" + "aB" * 16, "TK" + "aB" * 16),
        (Field("x", "ip"), "203.0.113.9", "203.0.113.9"),
        (Field("x", "sip_uri"), "sip:a.example;transport=tls", "sip:a.example;transport=tls"),
        (Field("x", "enum", enum=("a", "b")), "b", "b"),
    ],
)
def test_field_reads_valid_values(field: Field, raw: str, expected: object) -> None:
    assert field.read(raw, creating=True) == expected


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        (Field("x", "bool"), "yes"),
        (Field("x", "method"), "PUT"),
        (Field("x", "int", minimum=0, maximum=32), "33"),
        (Field("x", "int"), "1.5"),
        (Field("x", "url"), "mailto:a@b"),
        (Field("x", "url"), "https://"),
        (Field("x", "sid", prefix="TK"), "TK123"),
        (Field("x", "ip"), "::1"),
        (Field("x", "sip_uri"), "sips:a.example"),
        (Field("x", "enum", enum=("a",)), "A"),
        (Field("x", required=True), ""),
        (Field("x", max_length=3), "abcd"),
    ],
)
def test_field_rejects_invalid_values(field: Field, raw: str) -> None:
    with pytest.raises(TwilioError) as info:
        field.read(raw, creating=True)
    assert info.value.status == 400


def test_domain_suffix_rule() -> None:
    check = domain_suffix_check("sip.twilio.com", 21231)
    check("acme.sip.twilio.com")
    check("a-b.c.sip.twilio.com")
    for bad in (
        "sip.twilio.com",
        "acme.sip.twilio.com.evil",
        "-a.sip.twilio.com",
        "a_b.sip.twilio.com",
    ):
        with pytest.raises(TwilioError) as info:
            check(bad)
        assert info.value.code == 21231


def test_password_rule() -> None:
    check_password("IWasAtSignal2018")
    for weak in ("Short1a", "nouppercase123", "NOLOWERCASE123", "NoDigitsHereAtAll"):
        with pytest.raises(TwilioError):
            check_password(weak)


def test_page_window_reads_tokens() -> None:
    records: list[dict[str, object]] = [{"sid": f"X{n}"} for n in range(10)]
    assert _page_window(records, {}) == (50, 0, 0)
    assert _page_window(records, {"PageSize": "3", "Page": "2"}) == (3, 2, 6)
    assert _page_window(records, {"PageSize": "3", "Page": "1", "PageToken": "PAX4"}) == (3, 1, 5)
    assert _page_window(records, {"PageSize": "3", "Page": "0", "PageToken": "PBX4"}) == (3, 0, 1)
    # an unknown token falls back to the page number
    assert _page_window(records, {"PageSize": "3", "Page": "1", "PageToken": "PAgone"}) == (3, 1, 3)


def test_dates_per_family() -> None:
    assert format_date(0, BY_NAME["sip_domain"]) == "Thu, 01 Jan 1970 00:00:00 +0000"
    assert format_date(0, BY_NAME["trunk"]) == "1970-01-01T00:00:00Z"


def test_twilio_path_fills_templates() -> None:
    kind = BY_NAME["sip_credential"]
    path = twilio_path(
        kind.instance_path, {"AccountSid": "AC1", "CredentialListSid": "CL2", "Sid": "CR3"}
    )
    assert path == "/2010-04-01/Accounts/AC1/SIP/CredentialLists/CL2/Credentials/CR3.json"


def test_kind_table_is_consistent() -> None:
    names = [kind.name for kind in KINDS]
    assert len(names) == len(set(names))
    for kind in KINDS:
        if kind.parent is not None:
            assert kind.parent.kind in BY_NAME
            assert "{" + kind.parent.param + "}" in kind.instance_path
        if kind.reference is not None:
            assert kind.reference.kind in BY_NAME
        for field in kind.fields:
            assert not field.ref or field.ref in BY_NAME
        if kind.strategy == "table":
            assert len(kind.prefix) == 2
            assert kind.items_key
