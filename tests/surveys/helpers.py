"""Helpers of the respondent-side tests: survey definitions, walking the form, reading pages."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from django.test import Client
from django.utils import translation

from surveys.models import Response, Survey
from surveys.respondent import selectors


def t(english: str, chinese: str) -> dict[str, str]:
    return {"en": english, "zh-hans": chinese}


def likert(scale: int) -> list[dict[str, Any]]:
    points = [{"code": str(n), "label": t(f"Point {n}", f"第{n}级")} for n in range(1, scale + 1)]
    return [*points, {"code": "na", "label": t("Not applicable", "不适用")}]


# One question of every type on a single page, then a closing page.
ALL_TYPES_DEFINITION: dict[str, Any] = {
    "slug": "all-types",
    "title": t("Every question type", "所有题型"),
    "consent_text": t("Agree to take part.", "同意参与。"),
    "thank_you_text": t("Thanks for testing.", "感谢测试。"),
    "languages": ["en", "zh-hans"],
    "default_language": "en",
    "status": "open",
    "pages": [
        {
            "code": "everything",
            "title": t("All the types", "全部题型"),
            "questions": [
                {
                    "code": "pet",
                    "type": "single_choice",
                    "required": True,
                    "text": t("Which pet?", "哪种宠物？"),
                    "choices": [
                        {"code": "cat", "label": t("Cat", "猫")},
                        {"code": "dog", "label": t("Dog", "狗")},
                        {"code": "other", "label": t("Other", "其他"), "is_other": True},
                    ],
                },
                {
                    "code": "media",
                    "type": "multiple_choice",
                    "text": t("Which media?", "哪些媒体？"),
                    "choices": [
                        {"code": "video", "label": t("Video", "视频")},
                        {"code": "image", "label": t("Image", "图像")},
                        {"code": "other", "label": t("Other", "其他"), "is_other": True},
                        {"code": "none", "label": t("None", "都没有"), "exclusive": True},
                    ],
                },
                {
                    "code": "agree5",
                    "type": "likert",
                    "scale": 5,
                    "text": t("Agree (5)?", "同意吗（5）？"),
                    "choices": likert(5),
                },
                {
                    "code": "agree7",
                    "type": "likert",
                    "scale": 7,
                    "text": t("Agree (7)?", "同意吗（7）？"),
                    "choices": likert(7),
                },
                {
                    "code": "grid",
                    "type": "likert_matrix",
                    "scale": 5,
                    "required": True,
                    "text": t("Rate each statement.", "请评价每个说法。"),
                    "choices": likert(5),
                    "rows": [
                        {"code": "fast", "text": t("It is fast.", "很快。")},
                        {"code": "cheap", "text": t("It is cheap.", "很便宜。")},
                    ],
                },
                {
                    "code": "age",
                    "type": "number",
                    "text": t("How old are you?", "您多大？"),
                    "help_text": t("In whole years.", "整数岁。"),
                    "min_value": 18,
                    "max_value": 99,
                    "integer": True,
                    "unit": t("years", "岁"),
                },
                {
                    "code": "hours",
                    "type": "number",
                    "text": t("Hours a day?", "每天几小时？"),
                    "min_value": 0,
                    "max_value": 24,
                },
                {"code": "paid", "type": "yes_no", "text": t("Paid?", "有报酬吗？")},
                {"code": "nickname", "type": "short_text", "text": t("Nickname?", "昵称？")},
                {
                    "code": "story",
                    "type": "long_text",
                    "classify": True,
                    "text": t("Tell us your story.", "讲讲您的经历。"),
                },
                {"code": "job", "type": "occupation", "text": t("Your job?", "您的职业？")},
                {"code": "where", "type": "country", "text": t("Where?", "在哪里？")},
            ],
        },
        {
            "code": "closing",
            "title": t("Closing", "结束"),
            "questions": [
                {"code": "last_words", "type": "short_text", "text": t("Last words?", "最后的话？")}
            ],
        },
    ],
}


def _short(code: str, english: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "type": "short_text", "text": t(english, f"{english}（中文）"), **extra}


# Pages and questions shown or hidden by the answers on the first page.
SKIP_LOGIC_DEFINITION: dict[str, Any] = {
    "slug": "skip-logic",
    "title": t("Skip logic", "跳转逻辑"),
    "consent_text": t("Agree.", "同意。"),
    "languages": ["en", "zh-hans"],
    "status": "open",
    "pages": [
        {
            "code": "start",
            "title": t("Start", "开始"),
            "questions": [
                {
                    "code": "pet",
                    "type": "single_choice",
                    "text": t("Pet?", "宠物？"),
                    "choices": [
                        {"code": "cat", "label": t("Cat", "猫")},
                        {"code": "dog", "label": t("Dog", "狗")},
                    ],
                },
                {
                    "code": "media",
                    "type": "multiple_choice",
                    "text": t("Media?", "媒体？"),
                    "choices": [
                        {"code": "video", "label": t("Video", "视频")},
                        {"code": "image", "label": t("Image", "图像")},
                    ],
                },
                {
                    "code": "grid",
                    "type": "likert_matrix",
                    "scale": 5,
                    "text": t("Rate.", "评价。"),
                    "choices": likert(5),
                    "rows": [
                        {"code": "r1", "text": t("First", "第一")},
                        {"code": "r2", "text": t("Second", "第二")},
                    ],
                },
                _short("nickname", "Nickname?"),
                {"code": "paid", "type": "yes_no", "text": t("Paid?", "有报酬吗？")},
            ],
        },
        {
            "code": "paid_page",
            "title": t("About pay", "关于报酬"),
            "condition": {"question": "paid", "op": "equals", "value": True},
            "questions": [_short("paid_detail", "How are you paid?")],
        },
        {
            "code": "video_page",
            "title": t("About video", "关于视频"),
            "condition": {"question": "media", "op": "contains", "value": "video"},
            "questions": [_short("video_detail", "Which video work?")],
        },
        {
            "code": "details",
            "title": t("Details", "细节"),
            "questions": [
                _short(
                    "not_cat",
                    "Why no cat?",
                    required=True,
                    condition={"not": {"question": "pet", "op": "equals", "value": "cat"}},
                ),
                _short(
                    "high_r1",
                    "Why so high?",
                    condition={"question": "grid", "row": "r1", "op": "gte", "value": "4"},
                ),
                _short(
                    "named", "Why that name?", condition={"question": "nickname", "op": "answered"}
                ),
                _short("always", "Anything?"),
            ],
        },
        {"code": "end", "title": t("End", "结束"), "questions": [_short("final", "Final words?")]},
    ],
}


# Answers for every page of the default survey, with the loss-details page shown (lost_work yes).
DEFAULT_ANSWERS: dict[str, dict[str, Any]] = {
    "about_you": {
        "q_occupation": "2655",
        "q_employment_type": "freelance",
        "q_union_member": "no",
        "q_country": "CN",
        "q_years_experience": "12",
        "q_income_band": "25k_50k",
    },
    "tools": {"q_tools_used": ["runway", "kling"], "q_tools_contact": ["competing"]},
    "tool_use": {"q_tools_frequency": "weekly", "q_tools_tasks": ["ideas", "previs"]},
    "exposure": {
        **{
            f"q_exposure_matrix__{row}": str(index % 5 + 1)
            for index, row in enumerate(
                [
                    "tasks_doable",
                    "clients_ask_ai",
                    "rates_fallen",
                    "likeness_worry",
                    "training_worry",
                    "tools_help",
                    "new_opportunities",
                ]
            )
        },
        "q_outlook_5y": "3",
    },
    "impact": {"q_lost_work": "yes", "q_gained_work": "no"},
    "loss_details": {"q_loss_share": "10_25", "q_lost_work_types": ["advertising", "voice"]},
    "your_words": {
        "q_change_text": "Clients now ask for AI previs instead of storyboards.",
        "q_protect_text": "Contracts that forbid training on my work.",
    },
    "final": {"q_anything_else": "No."},
}
DEFAULT_PAGES_SHOWN = list(DEFAULT_ANSWERS)  # gain_details stays hidden (gained_work no)


# Walking the form ----------------------------------------------------------------------------
def start(
    client: Client, survey: Survey, *, path: str = "", data: dict | None = None, **extra: Any
) -> str:
    """Give consent and return the private token of the new response."""
    form = {"consent": "on", "adult": "on", **(data or {})}
    result = client.post(path or f"/s/{survey.slug}/", form, **extra)
    assert result.status_code == 302, result.content.decode()[:2000]
    match = re.fullmatch(r"/r/([^/]+)/", result["Location"])
    assert match, result["Location"]
    return match.group(1)


def url(token: str) -> str:
    return f"/r/{token}/"


def post(client: Client, token: str, data: dict[str, Any], action: str = "next", **extra: Any):  # type: ignore[no-untyped-def]
    return client.post(url(token), {**data, "action": action}, **extra)


def response_of(token: str) -> Response:
    return Response.objects.get(pk=selectors.response_by_resume_token(token=token).pk)


def complete_default(client: Client, survey: Survey, **extra: Any) -> str:
    """Fill in the whole default survey; returns the token."""
    token = start(client, survey, **extra)
    for index, code in enumerate(DEFAULT_PAGES_SHOWN):
        last = index == len(DEFAULT_PAGES_SHOWN) - 1
        result = post(client, token, DEFAULT_ANSWERS[code], "submit" if last else "next", **extra)
        assert result.status_code == 302, (code, errors(result))
    return token


# Reading pages -------------------------------------------------------------------------------
def text(result: Any) -> str:
    """The response body with HTML entities decoded."""
    return html.unescape(result.content.decode())


def ui(message: str, language: str = "en", **values: Any) -> str:
    """A UI string as the site shows it in `language`, whatever the translation catalogue says."""
    with translation.override(language):
        translated = translation.gettext(message)
    return translated % values if values else translated


def question_codes(result: Any) -> list[str]:
    return re.findall(r'data-question="([^"]+)"', result.content.decode())


def page_title(result: Any) -> str:
    match = re.search(r"<h1>(.*?)</h1>", result.content.decode(), re.S)
    return html.unescape(match.group(1)).strip() if match else ""


def timer(result: Any) -> str:
    """The signed page timer the form carries."""
    found = Document(result.content.decode()).find("input", name="timer")
    assert found, "no timer on the page"
    return found[0]["attrs"]["value"]


def selected(result: Any) -> dict[str, list[str]]:
    """{select name: selected option values} of the survey's questions."""
    chosen: dict[str, list[str]] = {}
    for option in Document(result.content.decode()).find("option"):
        select = next((p for p in reversed(option["parents"]) if p["tag"] == "select"), None)
        if select and "selected" in option["attrs"] and select["attrs"]["name"].startswith("q_"):
            chosen.setdefault(select["attrs"]["name"], []).append(option["attrs"]["value"])
    return chosen


def checked(result: Any, name: str) -> list[str]:
    return [
        e["attrs"]["value"]
        for e in Document(result.content.decode()).find("input", name=name)
        if "checked" in e["attrs"]
    ]


def receipt_code(result: Any) -> str:
    match = re.search(r'id="receipt-code">([^<]+)<', result.content.decode())
    assert match, "no receipt code on the page"
    return match.group(1).strip()


def errors(result: Any) -> list[str]:
    """The texts of the error messages shown next to the questions."""
    return [
        html.unescape(re.sub(r"<[^>]+>", "", item)).strip()
        for item in re.findall(r'<p class="error"[^>]*>(.*?)</p>', result.content.decode(), re.S)
    ]


def message(result: Any) -> str:
    match = re.search(r'<p class="message" role="status">(.*?)</p>', result.content.decode(), re.S)
    return html.unescape(match.group(1)).strip() if match else ""


class Document(HTMLParser):
    """A flat list of elements (tag, attributes, ancestors) and the text inside each id."""

    VOID = {"input", "meta", "link", "br", "img", "hr", "source", "area", "base", "col", "wbr"}

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict[str, Any]] = []
        self.stack: list[dict[str, Any]] = []
        self.feed(source)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {
            "tag": tag,
            "attrs": {k: v or "" for k, v in attrs},
            "parents": list(self.stack),
            "text": "",
        }
        self.elements.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index]["tag"] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element["text"] += data

    def find(self, tag: str | None = None, **attrs: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.elements
            if (tag is None or e["tag"] == tag)
            and all(e["attrs"].get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())
        ]

    def by_id(self, element_id: str) -> dict[str, Any] | None:
        found = [e for e in self.elements if e["attrs"].get("id") == element_id]
        return found[0] if found else None


def document(result: Any) -> Document:
    return Document(result.content.decode())
