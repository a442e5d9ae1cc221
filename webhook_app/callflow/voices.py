"""Twilio's <Say> voices and <Gather> speech languages, loaded once from voices.json."""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection
from importlib import resources
from typing import Final

_MAX_SUGGESTIONS: Final = 5


def _load() -> tuple[str, dict[str, tuple[str, ...]], frozenset[str]]:
    """Read voices.json as (source, voice -> languages, speech languages), checking its shape."""
    raw: object = json.loads(
        resources.files(__package__ or "webhook_app.callflow")
        .joinpath("voices.json")
        .read_text(encoding="utf-8")
    )
    if not isinstance(raw, dict):
        raise ValueError("voices.json must hold an object")
    source = raw.get("source")
    voices: dict[str, tuple[str, ...]] = {}
    for key in ("voices", "basic_voice_languages"):
        table = raw.get(key)
        if not isinstance(table, dict):
            raise ValueError(f"voices.json: {key!r} must be an object")
        for name, languages in table.items():
            if not (
                isinstance(name, str)
                and isinstance(languages, list)
                and languages
                and all(isinstance(language, str) for language in languages)
            ):
                raise ValueError(
                    f"voices.json: {key}[{name!r}] must be a non-empty list of language tags"
                )
            voices[name] = tuple(languages)
    speech = raw.get("speech_languages")
    if not isinstance(source, str) or not isinstance(speech, list):
        raise ValueError("voices.json needs a 'source' string and a 'speech_languages' list")
    return source, voices, frozenset(str(language) for language in speech)


def _by_language(voices: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Language tag -> the voices that speak it, sorted."""
    table: dict[str, list[str]] = {}
    for name, languages in sorted(voices.items()):
        for language in languages:
            table.setdefault(language, []).append(name)
    return {language: tuple(names) for language, names in table.items()}


_DATA: Final = _load()
SOURCE: Final[str] = _DATA[0]
_VOICES: Final = _DATA[1]
_SPEECH_LANGUAGES: Final = _DATA[2]
_BY_LANGUAGE: Final = _by_language(_VOICES)
_VOICE_LIST_URL: Final = next(word for word in SOURCE.split() if word.startswith("https://"))
_GATHER_URL: Final = "https://www.twilio.com/docs/voice/twiml/gather"


def voices_for(language: str) -> list[str]:
    """Every <Say> voice that speaks `language`, sorted."""
    return list(_BY_LANGUAGE.get(language, ()))


def _quoted(names: Collection[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _sentence(text: str) -> str:
    return text if text.endswith(("?", ".")) else text + "."


def _case_match(value: str, known: Collection[str]) -> str | None:
    """The spelling in `known` that equals `value` but for letter case, if any."""
    folded = value.casefold()
    return next((name for name in sorted(known) if name.casefold() == folded), None)


def _engine(voice: str) -> tuple[str, str]:
    """(provider, engine) of a voice name, e.g. ('Polly', 'Neural') for 'Polly.Joanna-Neural'."""
    provider, _, rest = voice.partition(".")
    if provider == "Polly":
        return provider, rest.partition("-")[2] or "Standard"
    if provider == "Google":
        return provider, rest.split("-")[2] if rest.count("-") >= 3 else ""
    return "basic", ""


def _alternatives(voice: str, language: str) -> list[str]:
    """Up to five voices speaking `language`, those of `voice`'s provider and engine first."""
    provider, engine = _engine(voice)

    def rank(name: str) -> tuple[int, str]:
        other_provider, other_engine = _engine(name)
        return (0 if other_provider == provider else 2) + (other_engine != engine), name

    return sorted(_BY_LANGUAGE.get(language, ()), key=rank)[:_MAX_SUGGESTIONS]


def _language_hint(language: str) -> str:
    """How to fix a language tag no <Say> voice speaks."""
    spelled = _case_match(language, _BY_LANGUAGE)
    if spelled:
        return f"language tags are case-sensitive: use '{spelled}'"
    close = difflib.get_close_matches(language, list(_BY_LANGUAGE), n=3, cutoff=0.6)
    if close:
        return f"did you mean {_quoted(close)}?"
    return f"see the language column at {_VOICE_LIST_URL}"


def voice_problem(voice: str, language: str) -> str | None:
    """None when Twilio's <Say> supports `voice` speaking `language`, else one sentence on the fix.

    An unknown voice gets the closest known names (or, failing those, voices for the language);
    a known voice asked for a language it does not speak gets the languages it does speak and up
    to five voices that speak the requested one, its own provider and engine first.
    """
    languages = _VOICES.get(voice)
    if languages is None:
        spelled = _case_match(voice, _VOICES)
        if spelled:
            return (
                f"<Say> voice '{voice}' is not a Twilio voice name:"
                f" names are case-sensitive, use '{spelled}'."
            )
        close = difflib.get_close_matches(voice, list(_VOICES), n=3, cutoff=0.6)
        if close:
            hint = f"did you mean {_quoted(close)}?"
        elif language in _BY_LANGUAGE:
            hint = (
                f"voices that speak '{language}' include {_quoted(_alternatives(voice, language))}"
            )
        else:
            hint = "pick one from the list"
        return _sentence(
            f"<Say> voice '{voice}' is not one Twilio supports ({_VOICE_LIST_URL}); {hint}"
        )
    if language in languages:
        return None
    speaks = f"<Say> voice '{voice}' does not speak '{language}' (it speaks {_quoted(languages)})"
    if language in _BY_LANGUAGE:
        return (
            f"{speaks}: set language to {'one of ' if len(languages) > 1 else ''}"
            f"{_quoted(languages)} or use a voice that speaks"
            f" '{language}', such as {_quoted(_alternatives(voice, language))}."
        )
    return _sentence(
        f"{speaks}, and no Twilio <Say> voice speaks '{language}': {_language_hint(language)}"
    )


def speech_language_problem(language: str) -> str | None:
    """None when <Gather input="speech"> recognises `language`, else one sentence on the fix."""
    if language in _SPEECH_LANGUAGES:
        return None
    spelled = _case_match(language, _SPEECH_LANGUAGES)
    if spelled:
        hint = f"language tags are case-sensitive: use '{spelled}'"
    else:
        primary = language.split("-")[0].casefold()
        same = sorted(
            tag
            for tag in _SPEECH_LANGUAGES
            if tag.casefold() == primary or tag.casefold().startswith(primary + "-")
        )
        close = same or difflib.get_close_matches(
            language, sorted(_SPEECH_LANGUAGES), n=3, cutoff=0.6
        )
        more = (
            f" (and {len(close) - _MAX_SUGGESTIONS} more)" if len(close) > _MAX_SUGGESTIONS else ""
        )
        hint = (
            f"did you mean {_quoted(close[:_MAX_SUGGESTIONS])}{more}?"
            if close
            else f"see the language tags at {_GATHER_URL}"
        )
    return _sentence(f"<Gather> speech recognition does not support language '{language}'; {hint}")
