"""The fast form parser returns what urllib's parse_qsl (werkzeug's form parser) returns."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from webhook_app.forms import parse_form

raw_bodies = st.lists(
    st.sampled_from(
        [
            "a",
            "b",
            "=",
            "&",
            "+",
            "%",
            "%20",
            "%2B",
            "%26",
            "%3d",
            "%3D",
            "%25",
            "%C3",
            "%A9",
            "%E2%82",
            "%AC",
            "%zz",
            "é",
            ";",
            "\x00",
            "%2",
            "6",
        ]
    ),
    max_size=20,
).map("".join)
encoded = st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=5).map(urlencode)


@settings(max_examples=800, deadline=None)
@given(raw_bodies | encoded)
def test_same_pairs_as_parse_qsl(body: str) -> None:
    assert parse_form(body) == parse_qsl(body, keep_blank_values=True, errors="replace")


def test_twilio_body() -> None:
    assert parse_form("From=%2B12125550199&CallerCity=NEW+YORK&Digits=") == [
        ("From", "+12125550199"),
        ("CallerCity", "NEW YORK"),
        ("Digits", ""),
    ]
