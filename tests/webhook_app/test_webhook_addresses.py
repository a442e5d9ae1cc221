"""Pure address helpers: SIP users, called numbers, conference rooms, log masking."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook_app.addresses import (
    called_number,
    conference_room,
    dialable_number,
    is_e164,
    mask_phone,
    sip_user,
)


@pytest.mark.parametrize(
    ("uri", "user"),
    [
        ("sip:alice@acme.sip.twilio.com", "alice"),
        ("sips:+14155550100@acme.sip.twilio.com;transport=tls", "+14155550100"),
        ("SIP:bob@x", "bob"),
        ("tel:+14155550100", None),
        ("alice", None),
        ("sip:@x", None),
    ],
)
def test_sip_user(uri: str, user: str | None) -> None:
    assert sip_user(uri) == user


@pytest.mark.parametrize(
    ("to", "number"),
    [
        ("+14155550100", "+14155550100"),
        ("tel:+14155550100", "+14155550100"),
        ("sip:+14155550100@byoc.example", "+14155550100"),
        ("sip:14155550100@byoc.example", "+14155550100"),
        ("sip:alice@byoc.example", None),
        ("4155550100x", None),
    ],
)
def test_called_number(to: str, number: str | None) -> None:
    assert called_number(to) == number


@pytest.mark.parametrize(
    ("user", "region", "number"),
    [
        ("+14155550100", None, "+14155550100"),
        ("+442071838750", "US", "+442071838750"),
        # Without a region bare digits are ambiguous: 4155550100 is also +41 55 555 01 00.
        ("4155550100", None, None),
        ("442071838750", None, None),
        ("4155550100", "US", "+14155550100"),
        ("14155550100", "US", "+14155550100"),
        ("011442071838750", "US", "+442071838750"),
        ("02071838750", "GB", "+442071838750"),
        ("911", "US", None),
        ("4155550100x", "US", None),
        ("123", None, None),
    ],
)
def test_dialable_number(user: str, region: str | None, number: str | None) -> None:
    assert dialable_number(user, region) == number


def test_called_number_reads_bare_digits_as_e164_unless_a_region_says_otherwise() -> None:
    assert called_number("sip:14155550100@byoc.example") == "+14155550100"
    assert called_number("sip:4155550100@byoc.example", "US") == "+14155550100"
    assert called_number("sip:+442071838750@byoc.example", "US") == "+442071838750"
    # A foreign number sent as E.164 without "+" is still found with a region set.
    assert called_number("sip:442071838750@carrier", "US") == "+442071838750"
    assert called_number("sip:14155550100@carrier", "GB") == "+14155550100"


def test_e164() -> None:
    assert is_e164("+14155550100")
    assert not is_e164("+04155550100")


def test_conference_room_is_stable_and_distinct() -> None:
    assert conference_room("CA1") == conference_room("CA1")
    assert conference_room("CA1") != conference_room("CA2")
    assert re.fullmatch(r"transfer-[0-9a-f]{16}", conference_room("CA\udc80"))


def test_mask_phone() -> None:
    assert mask_phone("+14155550234") == "+1415****234"
    assert mask_phone("sip:+14155550234@x.sip.twilio.com") == "sip:+1415****234@x.sip.twilio.com"
    assert mask_phone("client:alice") == "client:alice"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+1 415 555 0234", "+1 415 *** *234"),
        ("(415) 555-0234", "(415) 5**-*234"),
        ("+1-415-555-0234", "+1-415-***-*234"),
        ("415.555.0234", "415.5**.*234"),
        ("tel:+1-415-555-0234", "tel:+1-415-***-*234"),
        ("sip:+1-415-555-0234@x", "sip:+1-415-***-*234@x"),
        ("+44 20 7946 0958", "+44 20 **** *958"),
        # The host of a SIP URI stays; its parameters and headers are masked.
        ("sip:1001@203.0.113.45:5060", "sip:1001@203.0.113.45:5060"),
        ("<sip:alice@192.168.100.200>", "<sip:alice@192.168.100.200>"),
        (
            "sip:alice@h.example.com;x-cid=+14155550234",
            "sip:alice@h.example.com;x-cid=+1415****234",
        ),
        ("sip:a@h?P-Asserted-Identity=+14155550234", "sip:a@h?P-Asserted-Identity=+1415****234"),
        (
            "sip:4155550234@h;phone-context=+14155550234",
            "sip:4155***234@h;phone-context=+1415****234",
        ),
    ],
)
def test_mask_phone_with_visual_separators(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="+0123456789a:@ ().-", max_size=24))
def test_mask_keeps_the_length(value: str) -> None:
    assert len(mask_phone(value)) == len(value)


_SEPARATORS = [" ", "-", ".", "(", ")", "/", "_", "\u00a0", "\u2011", "%20", " - ", "  -  "]


@settings(max_examples=1000, deadline=None)
@given(
    digits=st.text(alphabet="0123456789", min_size=7, max_size=15),
    gaps=st.lists(st.sampled_from(["", "", "", *_SEPARATORS]), min_size=15, max_size=15),
    form=st.sampled_from(["{}", "+{}", "tel:+{}", "sip:{}@203.0.113.45:5060", "sip:+{}@x.example"]),
)
def test_mask_hides_all_but_seven_digits_of_a_written_number(
    digits: str, gaps: list[str], form: str
) -> None:
    # The oracle is the number as generated: however it is written, only its first four and
    # last three digits may stay visible (fewer for short numbers), and the host stays whole.
    number = digits[0] + "".join(gap + d for gap, d in zip(gaps, digits[1:], strict=False))
    written = form.format(number)
    masked = mask_phone(written)
    user = masked.split("@")[0]
    visible = re.sub(r"%[0-9A-Fa-f]{2}", "", user)
    shown = [c for c in visible if c.isdigit()]
    keep = min(4, len(digits) - 6) + 3
    assert shown == list(digits[: keep - 3] + digits[-3:]), (written, masked)
    if "@" in written:
        assert masked.split("@")[1] == written.split("@")[1]
