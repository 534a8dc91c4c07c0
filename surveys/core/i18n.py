"""Translation dicts: ``{"en": "...", "zh-hans": "..."}`` for every respondent-visible text."""

from __future__ import annotations

from collections.abc import Mapping


def translate(texts: Mapping[str, str] | str | None, language: str, fallback: str = "en") -> str:
    """Return the text in `language`, else in `fallback`, else any non-empty one, else ''."""
    if texts is None:
        return ""
    if isinstance(texts, str):
        return texts
    for code in (language, language.split("-")[0], fallback):
        value = texts.get(code)
        if value:
            return value
    return next((value for value in texts.values() if value), "")


def missing_languages(texts: Mapping[str, str] | None, languages: list[str]) -> list[str]:
    """Languages among `languages` for which `texts` holds no non-empty translation."""
    texts = texts or {}
    return [code for code in languages if not (texts.get(code) or "").strip()]
