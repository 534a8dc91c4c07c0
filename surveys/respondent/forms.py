"""Forms of the respondent side: consent, one survey page built from its questions, withdrawal."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from surveys import reference
from surveys.core.i18n import translate
from surveys.definitions.question_types import CodedList, QuestionType, question_type
from surveys.models import Question
from surveys.respondent import occupations
from surveys.respondent.services import PageValue

HONEYPOT = "website"
OTHER_MAX_LENGTH = 300
_UNREADABLE = "\ufffd"  # what Django decodes invalid UTF-8 into


class HoneypotMixin(forms.Form):
    # Hidden from people (CSS and aria-hidden); bots that fill every input reveal themselves.
    website = forms.CharField(required=False, max_length=200)

    def is_bot(self) -> bool:
        return bool(self.data.get(HONEYPOT))


class ConsentForm(HoneypotMixin):
    consent = forms.BooleanField(
        required=True,
        error_messages={"required": gettext_lazy("Please confirm your consent to take part.")},
    )
    adult = forms.BooleanField(
        required=True,
        error_messages={"required": gettext_lazy("Please confirm that you are 18 or older.")},
    )
    invitation = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class WithdrawForm(HoneypotMixin):
    receipt = forms.CharField(
        max_length=40,
        label=gettext_lazy("Receipt code"),
        error_messages={"required": gettext_lazy("Please enter your receipt code.")},
    )
    confirm = forms.BooleanField(
        required=True,
        label=gettext_lazy("I understand that my answers will be deleted for good."),
        error_messages={
            "required": gettext_lazy("Please confirm that your answers may be deleted.")
        },
    )


def _clean_text(value: str, *, limit: int) -> str:
    if _UNREADABLE in value:
        raise forms.ValidationError(
            _(
                "Your answer contains characters that could not be read (a broken text encoding). "
                "Please retype the affected part."
            )
        )
    if len(value) > limit:
        raise forms.ValidationError(
            _("Please shorten your answer to at most %(limit)s characters (it has %(length)s).")
            % {"limit": f"{limit:,}", "length": f"{len(value):,}"}
        )
    return value


@dataclass
class Item:
    """One question as the page template renders it."""

    question: Question
    name: str
    label: str
    help: str
    kind: str
    required: bool
    options: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    value: Any = None
    other_value: str = ""
    other_name: str = ""
    errors: list[str] = field(default_factory=list)
    unit: str = ""
    max_length: int | None = None
    min_value: Any = None
    max_value: Any = None
    # The <option>s of a long coded list (occupation, country), built in Python: as template
    # loops they cost more than the rest of the page.
    options_html: str = ""
    # The occupation search: the job-title box and its datalist.
    title_name: str = ""
    title_value: str = ""
    titles_html: str = ""

    @property
    def error_id(self) -> str:
        return f"{self.name}-error"

    @property
    def help_id(self) -> str:
        return f"{self.name}-help"

    @property
    def describedby(self) -> str:
        ids = [self.help_id] if self.help else []
        if self.errors:
            ids.append(self.error_id)
        return " ".join(ids)


class PageForm(forms.Form):
    """The questions of one survey page; `values()` gives typed answers after validation.

    With `enforce_required=False` (going back, saving for later) blank required answers pass, so
    what the respondent did enter can be kept.
    """

    def __init__(
        self,
        data: Any = None,
        *,
        questions: list[Question],
        language: str,
        fallback: str,
        initial_values: dict[str, Any] | None = None,
        initial_others: dict[str, str] | None = None,
        enforce_required: bool = True,
    ) -> None:
        if data is not None:
            data = occupations.data_with_titles_resolved(data, questions)
        super().__init__(data)
        self.questions = questions
        self.language = language
        self.fallback = fallback
        self.initial_values = initial_values or {}
        self.initial_others = initial_others or {}
        self.enforce_required = enforce_required
        self.fields[HONEYPOT] = forms.CharField(required=False, max_length=200)
        for question in questions:
            self._add_fields(question)

    def is_bot(self) -> bool:
        return bool(self.data.get(HONEYPOT))

    def t(self, texts: Any) -> str:
        return translate(texts, self.language, self.fallback)

    # Field construction -------------------------------------------------------------------
    def _add_fields(self, question: Question) -> None:
        name = f"q_{question.code}"
        kind = question_type(question.type)
        required = question.required and self.enforce_required
        error_messages = {
            "required": _("Please answer this question."),
            "invalid_choice": _("Please choose one of the options shown."),
            "invalid_list": _("Please choose one of the options shown."),
        }
        if kind.has_items:
            # Per-line checks (length, how many) are in _clean_items, with messages per line.
            for number in range(1, question.item_count + 1):
                self.fields[f"{name}__{number}"] = forms.CharField(required=False, strip=True)
            return
        codes = [(code, code) for code in _answer_codes(question, kind)]
        if kind.has_rows:
            for row in question.rows.all():
                self.fields[f"{name}__{row.code}"] = forms.ChoiceField(
                    choices=codes, required=required, error_messages=error_messages
                )
            return
        if kind.value_field == "choices":
            self.fields[name] = forms.MultipleChoiceField(
                choices=codes, required=required, error_messages=error_messages
            )
        elif kind.is_coded or kind.value_field == "boolean":
            self.fields[name] = forms.ChoiceField(
                choices=codes, required=required, error_messages=error_messages
            )
        elif kind.value_field == "number":
            self.fields[name] = forms.CharField(
                required=required, max_length=40, error_messages=error_messages, strip=True
            )
        else:
            # No max_length on the field: _clean_text gives a friendlier message with the counts.
            self.fields[name] = forms.CharField(
                required=required, error_messages=error_messages, strip=True
            )
        if self._has_other(question):
            self.fields[f"{name}__other"] = forms.CharField(required=False, strip=True)
        if occupations.is_occupation(question):
            self.fields[name + occupations.TITLE_SUFFIX] = forms.CharField(
                required=False, strip=True, max_length=occupations.TITLE_MAX_LENGTH
            )

    @staticmethod
    def _has_other(question: Question) -> bool:
        kind = question_type(question.type)
        if kind.always_other:
            return True
        return kind.has_choices and any(c.is_other for c in question.choices.all())

    # Validation ---------------------------------------------------------------------------
    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for question in self.questions:
            name = f"q_{question.code}"
            if occupations.is_occupation(question):
                self._check_title(name)
            if name in self.errors:
                continue
            if question_type(question.type).has_items:
                self._clean_items(question, name, cleaned)
                continue
            try:
                self._clean_question(question, name, cleaned)
            except forms.ValidationError as error:
                self.add_error(name, error)
        return cleaned

    def _check_title(self, name: str) -> None:
        """A job title typed but found in no group must not be dropped silently."""
        title = occupations.unmatched_title(self.data, name)
        if title and name + occupations.TITLE_SUFFIX not in self.errors:
            self.add_error(
                name + occupations.TITLE_SUFFIX,
                _(
                    "We found no occupation for “%(title)s”. Choose the closest group in the "
                    "list, or choose Other and describe your work."
                )
                % {"title": title[:80]},
            )

    def _clean_question(self, question: Question, name: str, cleaned: dict[str, Any]) -> None:
        kind = question_type(question.type)
        value = cleaned.get(name)
        if kind.is_text and value:
            cleaned[name] = _clean_text(value, limit=question.effective_max_length)
        elif kind.value_field == "number" and value not in (None, ""):
            cleaned[name] = self._clean_number(question, value)
        elif kind.value_field == "choices" and value:
            exclusive = {c.code for c in question.choices.all() if c.exclusive}
            if len(value) > 1 and exclusive & set(value):
                labels = ", ".join(
                    self.t(c.label) for c in question.choices.all() if c.code in exclusive
                )
                raise forms.ValidationError(
                    _("“%(labels)s” cannot be combined with other answers.") % {"labels": labels}
                )
        if self._has_other(question):
            other_name = f"{name}__other"
            other = cleaned.get(other_name) or ""
            if other:
                cleaned[other_name] = _clean_text(other, limit=OTHER_MAX_LENGTH)
            chosen = value if isinstance(value, list) else [value]
            if (
                _other_codes(question) & set(chosen)
                and not other
                and self.enforce_required
                and other_name not in self.errors  # given but invalid: that error says why
            ):
                raise forms.ValidationError(_("Please specify your answer for “other”."))

    def _clean_items(self, question: Question, name: str, cleaned: dict[str, Any]) -> None:
        """Each line of a multiple-short-text question on its own, then how many were given."""
        given = 0
        for number in range(1, question.item_count + 1):
            item = f"{name}__{number}"
            value = cleaned.get(item) or ""
            if not value:
                continue
            given += 1
            try:
                cleaned[item] = _clean_text(value, limit=question.effective_max_length)
            except forms.ValidationError as error:
                self.add_error(item, error)
        needed = question.required_items if question.required and self.enforce_required else 0
        if given < needed:
            message = (
                _("Please answer this question.")
                if needed == 1
                else _("Please fill in at least %(count)s lines.") % {"count": needed}
            )
            self.add_error(f"{name}__1", message)

    def _clean_number(self, question: Question, raw: str) -> Decimal:
        text = raw.replace(",", ".").replace("\u3002", ".").strip()
        try:
            number = Decimal(text)
        except ArithmeticError:
            number = None
        if number is None or not number.is_finite() or abs(number) >= Decimal("1e10"):
            raise forms.ValidationError(_("Please enter a number, for example 12."))
        if question.integer and number != number.to_integral_value():
            raise forms.ValidationError(_("Please enter a whole number."))
        low, high = question.min_value, question.max_value
        if (low is not None and number < low) or (high is not None and number > high):
            raise forms.ValidationError(
                _("Please enter a number between %(low)s and %(high)s.")
                % {"low": _plain(low, "-∞"), "high": _plain(high, "∞")}
            )
        return number.quantize(Decimal("0.0001"))

    # Results ------------------------------------------------------------------------------
    def values(self) -> dict[str, PageValue]:
        """Typed answers of the valid questions (blank ones as None, which clears them)."""
        result: dict[str, PageValue] = {}
        data = self.cleaned_data
        for question in self.questions:
            name = f"q_{question.code}"
            kind = question_type(question.type)
            if kind.has_rows:
                rows = {
                    row.code: data.get(f"{name}__{row.code}")
                    for row in question.rows.all()
                    if f"{name}__{row.code}" not in self.errors
                }
                result[question.code] = PageValue({k: v for k, v in rows.items() if v})
                continue
            if kind.has_items:
                lines = _item_values(name, question.item_count, data)
                if not any(f"{name}__{n}" in self.errors for n in range(1, len(lines) + 1)):
                    result[question.code] = PageValue([line for line in lines if line])
                continue
            if name in self.errors or f"{name}__other" in self.errors:
                continue
            value = data.get(name)
            if kind.value_field == "boolean":
                value = {"yes": True, "no": False}.get(value or "")
            other = data.get(f"{name}__other") or ""
            chosen = value if isinstance(value, list) else [value]
            specified = other if _other_codes(question) & set(chosen) else ""
            result[question.code] = PageValue(value, specified)
        return result

    def items(self) -> list[Item]:
        """The questions ready for the template, with values and errors."""
        return [self._item(question) for question in self.questions]

    def _raw(self, name: str, default: Any) -> Any:
        if self.is_bound:
            field = self.fields.get(name)
            if isinstance(field, forms.MultipleChoiceField):
                return field.widget.value_from_datadict(self.data, self.files, name)
            return self.data.get(name, "")
        return default

    def _item(self, question: Question) -> Item:
        name = f"q_{question.code}"
        kind = question_type(question.type)
        initial = self.initial_values.get(question.code)
        if kind.value_field == "boolean" and isinstance(initial, bool):
            initial = "yes" if initial else "no"
        if isinstance(initial, Decimal):
            initial = _plain(initial, "")
        item = Item(
            question=question,
            name=name,
            label=self.t(question.text),
            help=self.t(question.help_text),
            kind=question.type,
            required=question.required,
            value=self._raw(name, initial),
            unit=self.t(question.unit),
            max_length=question.effective_max_length if kind.is_text else None,
            min_value=_plain(question.min_value, None),
            max_value=_plain(question.max_value, None),
        )
        # An ErrorList yields its messages as strings (its stub types the stored errors).
        errors = [str(error) for error in self.errors.get(name, [])]
        if self._has_other(question):
            item.other_name = f"{name}__other"
            item.other_value = self._raw(
                item.other_name, self.initial_others.get(question.code, "")
            )
            errors += [str(error) for error in self.errors.get(item.other_name, [])]
        if occupations.is_occupation(question):
            item.title_name = name + occupations.TITLE_SUFFIX
            item.title_value = self._raw(item.title_name, "")
            item.titles_html = occupations.titles_html(self.language)
            errors += [str(error) for error in self.errors.get(item.title_name, [])]
        self._add_options(item, kind)
        if kind.has_rows:
            errors += self._add_rows(item, initial if isinstance(initial, dict) else {})
        if kind.has_items:
            errors += self._add_lines(item, initial if isinstance(initial, list) else [])
        item.errors = errors
        return item

    def _add_options(self, item: Item, kind: QuestionType) -> None:
        """The item's options, and their HTML unless it is a matrix (whose rows carry it)."""
        if kind.coded_list:
            if kind.coded_list == "occupation":
                item.options = _occupation_options(self.language)
            else:
                item.options = [
                    {"code": code, "label": label}
                    for code, label in reference.countries(self.language)
                ]
            item.options_html = _options_html(
                _option_pieces(kind.coded_list, self.language, translation.get_language()),
                item.value,
            )
        elif kind.value_field == "boolean":
            item.options = [{"code": "yes", "label": _("Yes")}, {"code": "no", "label": _("No")}]
            item.options_html = _choices_html(item)
        else:
            item.options = [
                {"code": c.code, "label": self.t(c.label), "is_other": c.is_other}
                for c in item.question.choices.all()
            ]
            if not kind.has_rows:
                item.options_html = _choices_html(item)

    def _add_lines(self, item: Item, given: list[str]) -> list[str]:
        """Fill the lines of a multiple-short-text item; returns their errors, each numbered."""
        errors: list[str] = []
        item.value = None
        for number in range(1, item.question.item_count + 1):
            line_name = f"{item.name}__{number}"
            default = given[number - 1] if number <= len(given) else ""
            line_errors = [str(error) for error in self.errors.get(line_name, [])]
            item.rows.append(
                {
                    "name": line_name,
                    "number": number,
                    "value": self._raw(line_name, default),
                    "errors": line_errors,
                }
            )
            errors += [
                _("Line %(number)s: %(message)s") % {"number": number, "message": message}
                for message in line_errors
            ]
        return errors

    def _add_rows(self, item: Item, given: dict[str, Any]) -> list[str]:
        """Fill the rows of a matrix item; returns their errors, each prefixed by its row."""
        errors: list[str] = []
        for row in item.question.rows.all():
            row_name = f"{item.name}__{row.code}"
            row_value = self._raw(row_name, given.get(row.code, ""))
            item.rows.append(
                {
                    "name": row_name,
                    "label": self.t(row.text),
                    "value": row_value,
                    "errors": list(self.errors.get(row_name, [])),
                    "options_html": _scale_html(item.options, row_name, row_value),
                }
            )
            errors += [
                f"{self.t(row.text)}: {message}" for message in self.errors.get(row_name, [])
            ]
        return errors


def _item_values(name: str, count: int, data: dict[str, Any]) -> list[str]:
    """The lines of a multiple-short-text question as given, blank ones included."""
    return [data.get(f"{name}__{number}") or "" for number in range(1, count + 1)]


def _answer_codes(question: Question, kind: QuestionType) -> list[str]:
    """The codes a respondent may give (none for numbers and text)."""
    if kind.coded_list == "occupation":
        return sorted(reference.occupation_codes())
    if kind.coded_list == "country":
        return sorted(reference.country_codes())
    if kind.value_field == "boolean":
        return ["yes", "no"]
    if kind.has_choices:
        return [c.code for c in question.choices.all()]
    return []


def _other_codes(question: Question) -> set[str]:
    """The codes that ask the respondent to specify ("other, please specify")."""
    if question_type(question.type).always_other:
        return {reference.OTHER}
    return {c.code for c in question.choices.all() if c.is_other}


def _occupation_options(language: str) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, str]]] = {}
    for occupation in reference.occupations():
        group = translate(occupation.group, language)
        groups.setdefault(group, []).append(
            {"code": occupation.isco, "label": translate(occupation.label, language)}
        )
    options: list[dict[str, Any]] = [
        {"group": group, "options": items} for group, items in groups.items()
    ]
    options.append({"group": "", "options": [{"code": reference.OTHER, "label": _("Other")}]})
    return options


@functools.cache
def _option_pieces(
    coded_list: CodedList, language: str, ui_language: str | None
) -> tuple[tuple[str, str, str], ...]:
    """(code, HTML before, HTML after the `selected` mark) of each <option> of a coded list.

    The markup is that of the select in surveys/includes/question.html, escaped as the template
    escapes it. `ui_language` is the active translation (the label of "Other").
    """
    groups: list[dict[str, Any]]
    if coded_list == "country":
        groups = [{"group": "", "options": [
            {"code": code, "label": label} for code, label in reference.countries(language)
        ]}]  # fmt: skip
    else:
        groups = _occupation_options(language)
    pieces: list[tuple[str, str, str]] = []
    for group in groups:
        options = group["options"]
        for index, option in enumerate(options):
            before = f'<option value="{escape(option["code"])}"'
            after = f">{escape(option['label'])}</option>"
            if group["group"] and index == 0:
                before = f'<optgroup label="{escape(group["group"])}">' + before
            if group["group"] and index == len(options) - 1:
                after += "</optgroup>"
            pieces.append((str(option["code"]), before, after))
    return tuple(pieces)


def _options_html(pieces: tuple[tuple[str, str, str], ...], value: Any) -> str:
    selected = value if isinstance(value, str) else None
    return mark_safe(  # noqa: S308  # nosec B308 B703  # every piece was escaped above
        "".join(
            f"{before} selected{after}" if code == selected else f"{before}{after}"
            for code, before, after in pieces
        )
    )


def _choices_html(item: Item) -> str:
    """The radio buttons or checkboxes of a choice question (see surveys/includes/question.html)."""
    multiple = question_type(item.kind).value_field == "choices"
    kind = "checkbox" if multiple else "radio"
    name, value = escape(item.name), item.value
    parts = []
    for number, option in enumerate(item.options, start=1):
        code = option["code"]
        if multiple:
            try:
                checked = code in value
            except TypeError:  # nothing chosen yet (as the template's `in` treats it)
                checked = False
        else:
            checked = code == value
        other = option.get("is_other")
        parts.append(
            f'\n      <span class="opt"><input type="{kind}" name="{name}" id="{name}-{number}" '
            f'value="{escape(code)}"{" checked" if checked else ""}'
            f"{f' data-other={chr(34)}{escape(item.other_name)}{chr(34)}' if other else ''}>"
            f'\n      <label for="{name}-{number}">{escape(option["label"])}</label></span>\n      '
        )
        if other:
            parts.append(
                f'<span class="other"><label for="{escape(item.other_name)}">'
                f"{escape(_('Please specify'))}</label>\n      "
                f'<input type="text" name="{escape(item.other_name)}" '
                f'id="{escape(item.other_name)}" value="{escape(item.other_value or "")}" '
                'maxlength="300"></span>'
            )
        parts.append("\n    ")
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703  # every value was escaped above


def _scale_html(options: list[dict[str, Any]], name: str, value: Any) -> str:
    """The radio buttons of one Likert matrix row (see surveys/includes/question.html)."""
    name = escape(name)
    return mark_safe(  # noqa: S308  # nosec B308 B703  # every value was escaped above
        "".join(
            f'\n        <span class="opt"><input type="radio" name="{name}" id="{name}-{number}" '
            f'value="{escape(option["code"])}"{" checked" if option["code"] == value else ""}>'
            f'\n        <label for="{name}-{number}">{escape(option["label"])}</label></span>'
            for number, option in enumerate(options, start=1)
        )
    )


def _plain(value: Decimal | None, default: Any) -> Any:
    if value is None:
        return default
    return int(value) if value == value.to_integral_value() else float(value)
