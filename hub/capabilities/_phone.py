"""Phone numbers, sender ids and SMS segment counting: pure functions, no I/O."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator

from hub.errors import InvalidRequest

__all__ = [
    "PhoneNumber",
    "Sender",
    "SmsEncoding",
    "count_segments",
    "normalize_phone_number",
    "normalize_sender",
    "sms_encoding",
]

SmsEncoding = Literal["GSM-7", "UCS-2"]

# -- phone numbers and senders ----------------------------------------------------------------

_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_SEPARATORS = str.maketrans("", "", " -()")
_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 ]{1,11}")
_LETTER = re.compile(r"[A-Za-z]")
_EXAMPLE = "'+14155550100'"


def normalize_phone_number(value: object, *, field: str = "to") -> str:
    """The E.164 form of ``value`` (spaces, dashes and parentheses dropped), or InvalidRequest."""
    if not isinstance(value, str):
        raise InvalidRequest(
            f"a phone number must be a string like {_EXAMPLE}, not {type(value).__name__}",
            field=field,
        )
    compact = value.strip().translate(_SEPARATORS)
    if _E164.fullmatch(compact):
        return compact
    digits = compact[1:] if compact.startswith("+") else compact
    stray = next((c for c in digits if not ("0" <= c <= "9")), None)
    if stray is not None:
        reason = f"it contains {stray!r}"
    elif not compact.startswith("+"):
        reason = "it must start with '+' and the country code"
    elif digits.startswith("0"):
        reason = "a country code never starts with 0"
    else:
        reason = f"it has {len(digits)} digits where E.164 allows 8 to 15"
    raise InvalidRequest(
        f"{value!r} is not an E.164 phone number ({reason}); write '+', the country code and "
        f"the number, e.g. {_EXAMPLE}",
        field=field,
    )


def normalize_sender(value: object) -> str:
    """An E.164 number, or an alphanumeric sender id of 1-11 letters, digits or spaces."""
    if isinstance(value, str) and _LETTER.search(value):
        text = value.strip()
        if _ALPHANUMERIC_SENDER.fullmatch(text):
            return text
        raise InvalidRequest(
            f"{value!r} is not a valid alphanumeric sender id: use 1 to 11 letters, digits or "
            f"spaces (at least one letter), e.g. 'Acme', or an E.164 number like {_EXAMPLE}",
            field="sender",
        )
    try:
        return normalize_phone_number(value, field="sender")
    except InvalidRequest as exc:
        raise InvalidRequest(
            f"{exc.message}; a sender may also be an alphanumeric id such as 'Acme'",
            field="sender",
        ) from None


#: A phone number, validated and normalized to E.164 (``+14155550100``).
PhoneNumber = Annotated[str, BeforeValidator(normalize_phone_number)]
#: An E.164 number or an alphanumeric sender id (needs the ``alphanumeric_sender`` feature).
Sender = Annotated[str, BeforeValidator(normalize_sender)]

# -- segments ---------------------------------------------------------------------------------

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: Characters GSM-7 sends as an escape plus a character: two septets each.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def sms_encoding(body: str) -> SmsEncoding:
    """GSM-7 when every character is in the GSM alphabet, else UCS-2."""
    gsm = all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in body)
    return "GSM-7" if gsm else "UCS-2"


def count_segments(body: str) -> int:
    """How many SMS segments the body is billed as (160/153 GSM-7 septets, 70/67 UCS-2 units).

    A long message loses room in each segment to its concatenation header, and neither an
    escaped GSM character nor a UTF-16 surrogate pair is split across segments.
    """
    if sms_encoding(body) == "GSM-7":
        weights = [2 if c in _GSM7_EXTENSION else 1 for c in body]
        single, part = 160, 153
    else:
        weights = [len(c.encode("utf-16-le")) // 2 for c in body]
        single, part = 70, 67
    if sum(weights) <= single:
        return 1
    segments, used = 1, 0
    for weight in weights:
        if used + weight > part:
            segments, used = segments + 1, 0
        used += weight
    return segments
