"""The Twilio voice/language data file and its lookups."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest

from webhook_app.callflow import voices


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    text = resources.files("webhook_app.callflow").joinpath("voices.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def test_json_is_well_formed(data: dict[str, Any]) -> None:
    assert {"source", "retrieved", "voices", "basic_voice_languages", "speech_languages"} <= set(
        data
    )
    assert data["retrieved"] == "2026-12-06"
    assert "https://www.twilio.com/docs/voice/twiml/say/text-speech" in data["source"]
    assert "https://www.twilio.com/docs/voice/twiml/gather" in data["source"]
    assert data["source"] == voices.SOURCE
    tag = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})*$")
    for table in ("voices", "basic_voice_languages"):
        for name, languages in data[table].items():
            assert isinstance(languages, list), name
            assert len(languages) >= 1, name
            assert len(set(languages)) == len(languages), name
            assert all(tag.match(language) for language in languages), (name, languages)
    assert set(data["basic_voice_languages"]) == {"man", "woman", "alice"}
    speech = data["speech_languages"]
    assert speech == sorted(set(speech))
    assert all(tag.match(language) for language in speech)


def test_covers_every_provider_and_engine(data: dict[str, Any]) -> None:
    names = set(data["voices"])
    for suffix in ("-Neural", "-Generative"):
        assert any(n.startswith("Polly.") and n.endswith(suffix) for n in names), suffix
    for kind in ("Standard", "Wavenet", "Neural2", "Chirp3-HD"):
        assert any(n.startswith("Google.") and f"-{kind}-" in n for n in names), kind
    assert len(names) > 800


def test_google_name_encodes_its_language(data: dict[str, Any]) -> None:
    for name, languages in data["voices"].items():
        if name.startswith("Google."):
            match = re.match(r"Google\.([a-z]+-[A-Za-z]+)-", name)
            assert match, name
            assert [match.group(1).casefold()] == [lang.casefold() for lang in languages], name


@pytest.mark.parametrize(
    ("voice", "language"),
    [
        ("Polly.Joanna", "en-US"),
        ("Polly.Joanna-Neural", "en-US"),
        ("Polly.Joanna-Generative", "en-US"),
        ("Polly.Aditi", "hi-IN"),
        ("Polly.Céline", "fr-FR"),
        ("Google.en-US-Standard-C", "en-US"),
        ("Google.en-US-Neural2-F", "en-US"),
        ("Google.de-DE-Chirp3-HD-Kore", "de-DE"),
        ("alice", "en-US"),
        ("alice", "ja-JP"),
        ("man", "en-GB"),
        ("woman", "fr-FR"),
    ],
)
def test_supported_voice_and_language(voice: str, language: str) -> None:
    assert voices.voice_problem(voice, language) is None


def test_voice_in_a_language_it_does_not_speak_lists_its_languages() -> None:
    problem = voices.voice_problem("Polly.Joanna", "de-DE")
    assert problem is not None
    assert "'de-DE'" in problem
    assert "'en-US'" in problem
    assert "Polly.Hans" in problem  # a Polly Standard voice that speaks German comes first
    alternatives = problem.split("such as ")[1].rstrip(".").split(", ")
    assert 1 <= len(alternatives) <= 5
    for alternative in alternatives:
        assert voices.voice_problem(alternative.strip("'"), "de-DE") is None


def test_typo_suggests_the_closest_voice() -> None:
    problem = voices.voice_problem("Polly.Joana", "en-US")
    assert problem is not None
    assert "'Polly.Joanna'" in problem
    assert "https://www.twilio.com/docs/voice/twiml/say/text-speech" in problem


def test_wrong_case_names_the_right_spelling() -> None:
    assert "'Polly.Joanna'" in (voices.voice_problem("polly.joanna", "en-US") or "")
    assert "'en-US'" in (voices.voice_problem("Polly.Joanna", "en-us") or "")


def test_basic_voice_language_refused() -> None:
    problem = voices.voice_problem("man", "ja-JP")
    assert problem is not None
    assert "'alice'" in problem  # alice speaks Japanese


def test_unknown_voice_and_language() -> None:
    problem = voices.voice_problem("Robot", "xx-YY")
    assert problem is not None
    assert problem.endswith(".")


def test_voices_for() -> None:
    english = voices.voices_for("en-US")
    assert english == sorted(english)
    assert {"Polly.Joanna", "Polly.Joanna-Neural", "alice", "man", "woman"} <= set(english)
    assert voices.voices_for("cy-GB") == ["Polly.Gwyneth"]
    assert voices.voices_for("xx-YY") == []


@pytest.mark.parametrize("language", ["en-US", "es-MX", "fr-FR", "cmn-Hans-CN", "pt-BR"])
def test_speech_language_supported(language: str) -> None:
    assert voices.speech_language_problem(language) is None


def test_speech_language_refused() -> None:
    problem = voices.speech_language_problem("en")
    assert problem is not None
    assert "'en-GB'" in problem
    assert "more" in problem
    problem = voices.speech_language_problem("en-us")
    assert problem is not None
    assert "'en-US'" in problem
    problem = voices.speech_language_problem("xx-YY")
    assert problem is not None
    assert "https://www.twilio.com/docs/voice/twiml/gather" in problem
