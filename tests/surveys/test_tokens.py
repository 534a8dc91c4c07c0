"""Response ids stay the same in every export: letters and digits only, never formula-like."""

import re

from surveys.core import tokens
from surveys.exports.formats import neutralise


def test_public_ids_are_letters_and_digits_and_unique() -> None:
    ids = [tokens.new_public_id() for _ in range(5000)]
    assert all(re.fullmatch(r"[A-Za-z0-9]{22}", value) for value in ids)
    assert len(set(ids)) == len(ids)
    assert all(neutralise(value) == value for value in ids)
