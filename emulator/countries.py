"""The countries Voice Dialing Permissions know: ISO code, name, continent, E.164 country codes.

Built from `phonenumbers` (every region with a numbering plan: ISO 3166-1 alpha-2 codes plus
Ascension `AC`, Tristan da Cunha `TA` and Kosovo `XK`, 245 in all; country calling codes from its
metadata), English names from `country_names.json` (taken once from phonenumbers' geocoder locale
data, whose import costs seconds at every emulator start; a test keeps the two equal) and the
continent table below, with Twilio's continent names. A new account may call low-risk numbers of
the US and Canada (`DEFAULT_LOW_RISK`) and nothing else, as Twilio's default geo permissions do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import phonenumbers

_CONTINENTS: dict[str, str] = {
    "AFRICA": (
        "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA "
        "MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TA TD TG TN TZ UG YT ZA ZM "
        "ZW AC IO"
    ),
    "ASIA": (
        "AE AF AM AZ BD BH BN BT CC CN CX CY GE HK ID IL IN IQ IR JO JP KG KH KP KR KW KZ LA LB "
        "LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE"
    ),
    "EUROPE": (
        "AD AL AT AX BA BE BG BY CH CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI "
        "LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK"
    ),
    "NORTH_AMERICA": (
        "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX "
        "NI PA PM PR SV SX TC TT US VC VG VI"
    ),
    "OCEANIA": "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PW SB TK TO TV VU WF WS",
    "SOUTH_AMERICA": "AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
}
CONTINENT_OF: dict[str, str] = {
    code: continent for continent, codes in _CONTINENTS.items() for code in codes.split()
}
NAMES_FILE = Path(__file__).with_name("country_names.json")
# Twilio's geo permissions for a new account: low-risk numbers of the NANP home countries.
DEFAULT_LOW_RISK = frozenset({"US", "CA"})


@dataclass(frozen=True)
class Country:
    iso_code: str
    name: str
    continent: str
    country_codes: tuple[str, ...]


@cache
def countries() -> tuple[Country, ...]:
    """Every country, sorted by ISO code."""
    names: dict[str, str] = json.loads(NAMES_FILE.read_text(encoding="utf-8"))
    found = []
    for iso in sorted(phonenumbers.SUPPORTED_REGIONS):
        name = names.get(iso, iso)
        code = phonenumbers.country_code_for_region(iso)
        found.append(Country(iso, name, CONTINENT_OF.get(iso, "OTHER"), (f"+{code}",)))
    return tuple(found)


@cache
def by_iso() -> dict[str, Country]:
    return {c.iso_code: c for c in countries()}


__all__ = ["CONTINENT_OF", "DEFAULT_LOW_RISK", "Country", "by_iso", "countries"]
