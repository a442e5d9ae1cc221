"""infra.twilio_http.rewrite_url: Twilio URLs onto the emulator's `<base>/<subdomain>/<path>`."""

from __future__ import annotations

import pytest

from infra.twilio_http import rewrite_url

BASE = "http://127.0.0.1:4010"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://trunking.twilio.com/v1/Trunks", f"{BASE}/trunking/v1/Trunks"),
        (
            "https://api.twilio.com/2010-04-01/Accounts/AC1/SIP/Domains.json?PageSize=5",
            f"{BASE}/api/2010-04-01/Accounts/AC1/SIP/Domains.json?PageSize=5",
        ),
        ("https://voice.dublin.ie1.twilio.com/v1/ByocTrunks", f"{BASE}/voice/v1/ByocTrunks"),
        ("https://routes.twilio.com/v2/PhoneNumbers/+1415", f"{BASE}/routes/v2/PhoneNumbers/+1415"),
        # v1 pagination follows the emulator's own absolute next_page_url: left alone.
        (f"{BASE}/voice/v1/IpRecords?Page=1", f"{BASE}/voice/v1/IpRecords?Page=1"),
    ],
)
def test_rewrite_url(url: str, expected: str) -> None:
    assert rewrite_url(url, BASE) == expected


def test_base_with_a_path_prefix() -> None:
    got = rewrite_url("https://voice.twilio.com/v1/IpRecords", "http://h:1/twilio/")
    assert got == "http://h:1/twilio/voice/v1/IpRecords"
