"""Secret tokens (resume links, receipt codes, invitations): only keyed hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from django.conf import settings

RESUME = "resume"
RECEIPT = "receipt"
INVITATION = "invitation"

# Crockford's base32 without I, L, O, U: easy to read aloud and to copy by hand.
_RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_token() -> str:
    """A URL-safe random token with 192 bits of entropy."""
    return secrets.token_urlsafe(24)


_PUBLIC_ID_ALPHABET = string.ascii_letters + string.digits


def new_public_id() -> str:
    """A random response id of 22 letters and digits (131 bits), safe in every export format.

    Letters and digits only: an id starting with "-" or "=" would be neutralised as a possible
    spreadsheet formula and no longer match the same id elsewhere.
    """
    return "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(22))


def token_hash(token: str, *, purpose: str) -> str:
    """Keyed hash of `token` for `purpose`; the database never sees the token itself."""
    key = f"{settings.SECRET_KEY}:{purpose}".encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def new_receipt_code() -> str:
    """A receipt code such as 7K2M-QX9D-4HPT-W3ZA (80 bits), shown once to the respondent."""
    raw = "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def normalise_receipt_code(code: str) -> str:
    """Upper-case, drop separators and map look-alike letters, then re-group by four."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))
