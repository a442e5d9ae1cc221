"""infra.spec.lines: a config path -> its line in the stack file."""

from __future__ import annotations

import pytest

from infra.spec.lines import line_locator, path_parts

TEXT = """\
encryptionsalt: v1:abc
config:
  twilio:accountSid: AC123
  twilio-voice:environment:
    public_base_url: https://voice.example.com
    numbers:
      - e164: "+14155550100"
        flow: ivr_main
      - {e164: "+14155550101", trunk: t}
    sip_domains:
      - name: pbx
        auth:
          calls:
            credential_lists: [a, b]
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("", 4),
        ("public_base_url", 5),
        ("numbers", 6),
        ("numbers[0]", 7),
        ("numbers[0].flow", 8),
        ("numbers[1].trunk", 9),
        ("sip_domains[0].auth.calls.credential_lists[1]", 14),
        ("numbers[0].missing", 7),  # deepest existing part
        ("numbers[7]", 6),
        ("twilio:accountSid", 3),
    ],
)
def test_locates_paths(path: str, line: int) -> None:
    assert line_locator(TEXT, "twilio-voice:environment")(path) == line


def test_unknown_config_key_and_bad_yaml_give_none() -> None:
    assert line_locator(TEXT, "other:environment")("numbers") is None
    assert line_locator("config: [", "twilio-voice:environment")("numbers") is None
    assert line_locator("just text", "twilio-voice:environment")("numbers") is None


def test_path_parts() -> None:
    assert path_parts("a[1].b[0][2]") == ["a", 1, "b", 0, 2]
    assert path_parts("") == []
