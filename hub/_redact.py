"""Pure functions that scrub credentials out of HTTP exchanges.

Cassettes use them before anything touches disk, and ``hub.http`` reuses :func:`redact_text`
for error messages, so one set of rules decides what counts as a secret everywhere.

Two kinds of rule apply. *By name*: headers, query parameters, form fields and JSON keys whose
name says "credential" are replaced wholesale, whatever their value. *By value*: every configured
secret is replaced wherever it appears, also URL-encoded and base64-encoded (at any byte
alignment, so ``base64("user:" + secret)`` embedded in a larger blob is caught too).

Functions that redact by name accept an optional ``found`` set and add the values they removed,
so a caller can learn credentials it was not told about and scrub them elsewhere by value.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "is_secret_field",
    "is_secret_header",
    "redact_bytes",
    "redact_form",
    "redact_headers",
    "redact_json",
    "redact_text",
    "redact_url",
    "secret_forms",
]

#: What a secret is replaced with.
REDACTED = "<REDACTED>"

_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-postmark-server-token",
    }
)
# Any header whose name contains one of these words is a credential ...
_SECRET_HEADER_WORDS = ("token", "secret", "signature", "key")
# ... except these, which merely contain the word and are useful when reading a cassette.
_PUBLIC_HEADERS = frozenset({"idempotency-key", "x-idempotency-key"})
# Schemes whose presence makes any header value a credential, whatever the header's name.
_CREDENTIAL_SCHEMES = ("basic ", "bearer ")

_SECRET_FIELDS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth_token",
        "client_secret",
        "password",
        "passwd",
        "secret",
        "secret_key",
        "private_key",
        "signature",
    }
)
_SECRET_FIELD_SUFFIXES = ("_api_key", "_apikey", "_token", "_secret", "_password", "_signature")

# Shorter secrets get no base64 forms: their encodings are too short to be told from noise.
_MIN_BASE64_SECRET = 8
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _normalize_field(name: str) -> str:
    """``apiKey``, ``Api-Key`` and ``API_KEY`` all become ``api_key``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower().replace("-", "_")


def is_secret_header(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a header of this name carries a credential (``extra``: names a provider declares)."""
    lowered = name.lower()
    if lowered in {e.lower() for e in extra}:
        return True
    if lowered in _PUBLIC_HEADERS:
        return False
    return lowered in _SECRET_HEADERS or any(word in lowered for word in _SECRET_HEADER_WORDS)


def is_secret_field(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a query parameter, form field or JSON key of this name holds a credential."""
    normalized = _normalize_field(name)
    return (
        normalized in _SECRET_FIELDS
        or normalized.endswith(_SECRET_FIELD_SUFFIXES)
        or normalized in {_normalize_field(e) for e in extra}
    )


@functools.lru_cache(maxsize=256)
def secret_forms(secret: str) -> tuple[str, ...]:
    """Every spelling of ``secret`` worth searching for, longest first.

    Raw, URL-encoded (both ``%20`` and ``+`` styles, upper- and lower-case escapes) and base64
    (standard and URL-safe alphabets). Base64 is tried at the three byte alignments and only the
    characters that depend on the secret alone are kept, so the secret is found even inside the
    encoding of a longer value such as ``user:secret``.
    """
    if not secret:
        return ()
    forms = {secret}
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        forms.add(encoded)
        forms.add(_PERCENT_ESCAPE.sub(lambda m: m.group().lower(), encoded))
    raw = secret.encode("utf-8")
    if len(raw) >= _MIN_BASE64_SECRET:
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            whole = encode(raw).decode("ascii")
            forms.update((whole, whole.rstrip("=")))
            for offset in range(3):
                text = encode(b"\0" * offset + raw).decode("ascii")
                # Character i carries bits [6i, 6i + 6); keep those inside the secret's bits.
                first = -(-8 * offset // 6)
                end = 8 * (offset + len(raw)) // 6
                forms.add(text[first:end])
    return tuple(sorted(forms, key=len, reverse=True))


def _all_forms(secrets: Iterable[str]) -> list[str]:
    forms = {form for secret in secrets for form in secret_forms(secret)}
    return sorted(forms, key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every form of every secret in ``text`` with ``<REDACTED>``."""
    for form in _all_forms(secrets):
        text = text.replace(form, REDACTED)
    return text


def redact_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """:func:`redact_text` for bodies that are not text (the secret's UTF-8 bytes are replaced)."""
    marker = REDACTED.encode("ascii")
    for form in _all_forms(secrets):
        data = data.replace(form.encode("utf-8"), marker)
    return data


def _credential_parts(value: str) -> set[str]:
    """The secret pieces of a credential header value: the token, or basic auth's password."""
    parts = {value.strip()}
    scheme, _, rest = value.strip().partition(" ")
    if rest and scheme.isalpha():
        parts.add(rest.strip())
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                pass
            else:
                parts.add(decoded)
                parts.add(decoded.partition(":")[2])
    elif "=" in value:  # cookies: name=value; name2=value2
        parts.update(p.partition("=")[2].strip() for p in value.split(";"))
    return parts


def redact_headers(
    headers: Iterable[tuple[str, str]],
    secrets: Iterable[str],
    names: Iterable[str] = (),
    *,
    found: set[str] | None = None,
) -> list[tuple[str, str]]:
    """Blank credential headers wholesale and scrub secret values from the others.

    A value in the basic or bearer scheme is blanked whatever its header is called: part of
    ``base64(user:secret)`` would otherwise survive value-based redaction.
    """
    secrets, names = list(secrets), list(names)
    redacted = []
    for name, value in headers:
        if is_secret_header(name, names) or value.lower().startswith(_CREDENTIAL_SCHEMES):
            if found is not None:
                found.update(_credential_parts(value))
            redacted.append((name, REDACTED))
        else:
            redacted.append((name, redact_text(value, secrets)))
    return redacted


def _redact_pairs(encoded: str, fields: Iterable[str], found: set[str] | None) -> str:
    """Blank secret-named values in ``a=1&b=2``, keeping everything else byte for byte."""
    if not encoded:
        return encoded
    fields = list(fields)
    pieces = []
    for piece in encoded.split("&"):
        name, sep, value = piece.partition("=")
        if sep and is_secret_field(unquote_plus(name), fields):
            if found is not None:
                found.add(unquote_plus(value))
            piece = f"{name}={REDACTED}"
        pieces.append(piece)
    return "&".join(pieces)


def redact_url(
    url: str,
    secrets: Iterable[str],
    fields: Iterable[str] = (),
    *,
    found: set[str] | None = None,
) -> str:
    """Blank the password in the userinfo and secret-named query parameters, then scrub values."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        if colon:
            if found is not None:
                found.add(unquote(password))
            netloc = f"{user}:{REDACTED}@{hostport}"
    query = _redact_pairs(parts.query, fields, found)
    rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return redact_text(rebuilt, secrets)


def redact_form(
    body: str,
    secrets: Iterable[str],
    fields: Iterable[str] = (),
    *,
    found: set[str] | None = None,
) -> str:
    """An ``application/x-www-form-urlencoded`` body, redacted like a query string."""
    return redact_text(_redact_pairs(body, fields, found), secrets)


def redact_json(
    data: Any,
    secrets: Iterable[str],
    fields: Iterable[str] = (),
    *,
    found: set[str] | None = None,
) -> Any:
    """A copy of parsed JSON with secret-named scalars blanked and secret values scrubbed.

    A secret-named key holding an object or list is walked rather than blanked: vendors call
    whole resources "token" (Stripe) and the structure matters to the code reading it.
    """
    secrets, fields = list(secrets), list(fields)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            result = {}
            for key, value in node.items():
                name = redact_text(key, secrets) if isinstance(key, str) else key
                secret_scalar = isinstance(value, str | int | float) and not isinstance(value, bool)
                if isinstance(key, str) and secret_scalar and is_secret_field(key, fields):
                    if found is not None:
                        found.add(str(value))
                    result[name] = REDACTED
                else:
                    result[name] = walk(value)
            return result
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, str):
            return redact_text(node, secrets)
        return node

    return walk(data)
