"""The emulator's country names file matches phonenumbers' English locale data it was taken from."""

from __future__ import annotations

import json

import phonenumbers
import pytest

from emulator.countries import NAMES_FILE

SPECIAL = {"AC": "Ascension Island", "TA": "Tristan da Cunha", "XK": "Kosovo"}


@pytest.mark.slow
def test_country_names_match_phonenumbers_geocoder() -> None:
    from phonenumbers import geocoder  # seconds to import: the reason for the data file

    names = json.loads(NAMES_FILE.read_text(encoding="utf-8"))
    assert set(names) == set(phonenumbers.SUPPORTED_REGIONS)
    for iso, name in names.items():
        expected = SPECIAL.get(iso) or geocoder._region_display_name(iso, "en", None, None) or iso
        assert name == expected, iso
