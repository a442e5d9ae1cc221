"""Declared props: what the program and drift both take a spec entry to mean."""

from __future__ import annotations

from infra.props import default_number_name, incoming_phone_number_props
from infra.resources import incoming_phone_number
from infra.resources.incoming_phone_number import IncomingPhoneNumberArgs
from infra.resources.kind import diff_props
from infra.spec.models import PhoneNumber

BASE = "https://voice.example.com"


def test_a_number_without_a_name_declares_twilios_default_name() -> None:
    props = incoming_phone_number_props(BASE, PhoneNumber(e164="+14155550100", flow="ivr_main"))
    assert props["friendly_name"] == "(415) 555-0100"
    named = PhoneNumber(e164="+14155550100", friendly_name="Main line", flow="ivr_main")
    assert incoming_phone_number_props(BASE, named)["friendly_name"] == "Main line"
    assert default_number_name("+442079460123") == "020 7946 0123"


def test_removing_a_numbers_name_from_the_spec_is_a_change_not_a_stuck_value() -> None:
    named = PhoneNumber(e164="+14155550100", friendly_name="Main line", flow="ivr_main")
    # What the last `up` left in Twilio (outputs carry every field, defaults included).
    declared = incoming_phone_number_props(BASE, named)
    live = IncomingPhoneNumberArgs(**{k: v for k, v in declared.items() if v is not None})
    olds = live.model_dump()
    unnamed = incoming_phone_number_props(BASE, named.model_copy(update={"friendly_name": None}))
    changed, replaces = diff_props(incoming_phone_number.KIND, olds, unnamed)
    assert (changed, replaces) == (["friendly_name"], [])
