"""Which numbers a call may be put through to when the number comes from the caller.

A SIP user dialling out (``sip_inbound``) chooses the number: a leaked SIP credential can then
dial premium-rate numbers, or international ranges known for revenue-share fraud, at the
account's expense. :func:`refusal` says why such a number must not be dialled, or None. The
app's own configured numbers (menu targets, the operator, fallbacks) are not checked here.

The order of the checks: the one E.164 rule (``webhook_app.e164``: a number phonenumbers
finds valid, written in E.164), then the number's type (premium rate, shared cost), then
where it is: a non-geographic number (``+800``, ``+870``, ``+881``, ``+882``, ``+883``... no
country) is always refused, a country outside ``dial_countries`` (when the setting is given)
too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType

from webhook_app.e164 import parse_e164

Reason = Literal["invalid", "premium_rate", "shared_cost", "non_geographic", "country"]
_REFUSED_TYPES: dict[int, Reason] = {
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
}
_NO_COUNTRY = "001"  # phonenumbers' region of the non-geographic country codes


@dataclass(frozen=True)
class Refusal:
    """Why a dial is refused: ``reason`` (a metric-safe word) and the number's ``country``."""

    reason: Reason
    country: str  # ISO code, "001" for non-geographic numbers, "" when it has none


def refusal(number: str, allowed_countries: Collection[str] | None = None) -> Refusal | None:
    """None when ``number`` may be dialled, else why not.

    ``allowed_countries``: ISO codes (capitals) a dial may reach; None allows every country.
    """
    parsed = parse_e164(number)
    if parsed is None:
        return Refusal("invalid", "")
    country = phonenumbers.region_code_for_number(parsed) or ""
    reason = _REFUSED_TYPES.get(phonenumbers.number_type(parsed))
    if reason is not None:
        return Refusal(reason, country)
    if country == _NO_COUNTRY:
        return Refusal("non_geographic", country)
    if allowed_countries is not None and country not in allowed_countries:
        return Refusal("country", country)
    return None
