"""Cell-level safety: spreadsheet formula neutralisation and truncation that respects encodings."""

from __future__ import annotations

# OWASP "CSV injection": a cell starting with one of these may be run as a formula by a
# spreadsheet (tab and carriage return because some programs strip them and read on).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISE_PREFIX = "'"
TRUNCATION_MARKER = " [truncated]"


def neutralise(text: str) -> str:
    """Prefix a single quote when ``text`` starts like a formula; otherwise return it unchanged.

    Idempotent: a neutralised string starts with a quote, which is not a trigger, so a second
    pass changes nothing. Only text goes through here; real numbers are written as numbers.
    """
    if text.startswith(FORMULA_TRIGGERS):
        return NEUTRALISE_PREFIX + text
    return text


def truncate_utf8(text: str, max_bytes: int, marker: str = TRUNCATION_MARKER) -> tuple[str, bool]:
    """Fit ``text`` into ``max_bytes`` of UTF-8 without splitting a character; marker if cut."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= max_bytes:
        return text, False
    room = max(max_bytes - len(marker.encode("utf-8")), 0)
    # errors="ignore" drops a character cut in half at the end, and only that.
    head = encoded[:room].decode("utf-8", "ignore")
    return head + marker if room else head, True


def truncate_chars(text: str, max_chars: int, marker: str = TRUNCATION_MARKER) -> tuple[str, bool]:
    """Fit ``text`` into ``max_chars`` characters (code points), marker included if cut."""
    if len(text) <= max_chars:
        return text, False
    room = max(max_chars - len(marker), 0)
    return (text[:room] + marker if room else text[:max_chars]), True


def truncate_utf16(text: str, max_units: int, marker: str = TRUNCATION_MARKER) -> tuple[str, bool]:
    """Fit ``text`` into ``max_units`` UTF-16 code units (Excel's measure), marker if cut."""
    if len(text) <= max_units // 2 or len(text.encode("utf-16-le")) // 2 <= max_units:
        return text, False
    room = max(max_units - len(marker), 0)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > room:
            return text[:index] + marker, True
    return text + marker, True  # unreachable: the text was longer than room
