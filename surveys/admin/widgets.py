"""Admin form widgets: translation dicts edited as one labelled input per survey language.

Every respondent-visible text is stored as ``{"en": "...", "zh-hans": "..."}``; researchers should
never have to type that JSON by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from surveys.definitions.transfer import SUPPORTED_LANGUAGES

LANGUAGE_NAMES: dict[str, str] = {"en": "English", "zh-hans": "简体中文"}


def _language_input(code: str, *, multiline: bool, rows: int) -> forms.Widget:
    """The text box (or area) for one language of a translation."""
    sub_attrs = {"lang": code, "class": "translation-input"}
    if multiline:
        return forms.Textarea(attrs={**sub_attrs, "rows": rows, "cols": 60})
    return forms.TextInput(attrs={**sub_attrs, "size": 60})


class TranslationWidget(forms.MultiWidget):
    """One text input (or textarea) per language, each with a visible language label."""

    template_name = "surveys/admin/widgets/translation.html"

    def __init__(
        self,
        languages: Sequence[str] = SUPPORTED_LANGUAGES,
        *,
        multiline: bool = False,
        rows: int = 3,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        self.languages = tuple(languages)
        self.multiline = multiline
        super().__init__(
            {
                code: _language_input(code, multiline=multiline, rows=rows)
                for code in self.languages
            },
            attrs,
        )

    def decompress(self, value: Any) -> list[str]:
        if isinstance(value, dict):
            return [str(value.get(code) or "") for code in self.languages]
        if isinstance(value, str) and value:
            # A plain string (legacy data) is taken as the first language's text.
            return [value, *[""] * (len(self.languages) - 1)]
        return [""] * len(self.languages)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        subwidgets = context["widget"]["subwidgets"]
        context["widget"]["rows"] = [
            {"code": code, "name": LANGUAGE_NAMES.get(code, code), "widget": sub}
            for code, sub in zip(self.languages, subwidgets, strict=True)
        ]
        return context


class TranslationField(forms.Field):
    """A translation dict; `languages_needed` lists the languages that must all be filled in.

    As in survey definitions: a required text needs every survey language, and an optional one
    is either left empty in all of them or given in all of them.
    """

    default_error_messages = {
        "required": "Please enter this text.",
        "missing": "Please add the %(languages)s text as well (the survey is offered in it).",
        "invalid": "Enter text for each language.",
    }

    def __init__(
        self,
        *,
        languages: Sequence[str] = SUPPORTED_LANGUAGES,
        multiline: bool = False,
        rows: int = 3,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("widget", TranslationWidget(languages, multiline=multiline, rows=rows))
        kwargs.pop("encoder", None)  # handed over by JSONField.formfield
        kwargs.pop("decoder", None)
        kwargs.pop("max_length", None)
        super().__init__(**kwargs)
        self.languages = tuple(languages)
        self.languages_needed: list[str] = [self.languages[0]]

    def to_python(self, value: Any) -> dict[str, str]:
        if value in (None, "", [], {}):
            return {}
        items: Iterable[tuple[Any, Any]]
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list | tuple):
            items = zip(self.languages, value, strict=False)
        else:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        texts = {}
        for code, text in items:
            if text is None:
                continue
            if not isinstance(text, str):
                raise ValidationError(self.error_messages["invalid"], code="invalid")
            if text.strip():
                texts[str(code)] = text.strip()
        return texts

    def validate(self, value: dict[str, str]) -> None:
        if not value:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return
        missing = [code for code in self.languages_needed if code not in value]
        if missing:
            names = " and ".join(LANGUAGE_NAMES.get(code, code) for code in missing)
            raise ValidationError(
                self.error_messages["missing"], code="missing", params={"languages": names}
            )

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        try:
            return self.to_python(initial) != self.to_python(data)
        except ValidationError:
            return True


def set_languages_needed(form: forms.BaseForm, languages: Sequence[str] | None) -> None:
    """Make every translation field of `form` ask for `languages` (a survey's languages)."""
    wanted = [code for code in (languages or []) if code in SUPPORTED_LANGUAGES] or ["en"]
    for field in form.fields.values():
        if isinstance(field, TranslationField):
            field.languages_needed = wanted
