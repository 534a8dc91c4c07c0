"""Reading the figures back from the results page's HTML (the standard library's parser)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Row:
    """A table row: its data-* keys and the text of each cell that carries a figure."""

    keys: dict[str, str]
    figures: dict[str, str] = field(default_factory=dict)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[Row]] = {}
        self.values: dict[str, list[str]] = {}  # per table, the chart's value labels
        self.section: str | None = None
        self.row: Row | None = None
        self.figure: str | None = None
        self.chart_value = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "section" and "data-table" in found:
            self.section = found["data-table"]
            self.tables[self.section] = []
            self.values[self.section] = []
        elif tag == "tr" and self.section is not None:
            keys = {k: v for k, v in found.items() if k.startswith("data-")}
            self.row = Row(keys)
            self.tables[self.section].append(self.row)
        elif tag == "td" and self.row is not None and "data-figure" in found:
            self.figure = found["data-figure"]
            self.text = []
        elif tag == "text" and found.get("class") == "chart-value":
            self.chart_value = True
            self.text = []

    def handle_data(self, data: str) -> None:
        if self.figure is not None or self.chart_value:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.figure is not None and self.row is not None:
            self.row.figures[self.figure] = "".join(self.text).strip()
            self.figure = None
        elif tag == "text" and self.chart_value and self.section is not None:
            self.values[self.section].append("".join(self.text).strip())
            self.chart_value = False
        elif tag == "tr":
            self.row = None
        elif tag == "section":
            self.section = None


def page_figures(html: str) -> tuple[dict[str, list[Row]], dict[str, list[str]]]:
    """({table key: its rows}, {table key: the chart's value labels}) of a results page."""
    parser = _Parser()
    parser.feed(html)
    return parser.tables, parser.values
