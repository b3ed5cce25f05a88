"""Azure Storage request signing: Shared Key for the hub's own requests, service SAS for URLs.

Both follow Microsoft's "Authorize with Shared Key" and "Create a service SAS" documents:

* Shared Key: ``Authorization: SharedKey <account>:<base64 HMAC-SHA256(key, StringToSign)>``
  where StringToSign is the verb, eleven standard headers (Content-Length empty when 0), the
  ``x-ms-*`` headers (lower-cased, sorted, ``name:value\\n``) and the canonicalized resource
  (``/<account><encoded path>`` then ``\\n<name>:<decoded values, sorted, comma-joined>`` for
  each query parameter, names lower-cased and sorted).
* Service SAS (version 2020-12-06 and later) for one blob: ``sp``, ``st``, ``se``,
  ``/blob/<account>/<container>/<blob>``, ``si``, ``sip``, ``spr``, ``sv``, ``sr``, snapshot
  time, ``ses`` and the five response-header overrides, joined by newlines and signed the same
  way; the URL carries ``sv``, ``sr``, ``sp``, ``se`` (``spr``) and ``sig``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Generator, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import parse_qsl, quote, urlencode

import httpx

__all__ = [
    "SharedKeyAuth",
    "canonicalized_headers",
    "canonicalized_resource",
    "decode_key",
    "sas_query",
    "sas_string_to_sign",
    "sign",
    "string_to_sign",
]

#: The standard headers of the StringToSign, in their documented order.
_STANDARD = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


def decode_key(account_key: str) -> bytes:
    """The account key's bytes; a ValueError naming the problem if it is not base64."""
    try:
        key = base64.b64decode(account_key, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "account_key is not base64: copy key1 or key2 from the storage account's "
            "'Access keys' page"
        ) from None
    if not key:
        raise ValueError("account_key is empty")
    return key


def sign(key: bytes, text: str) -> str:
    """Base64 HMAC-SHA256 of ``text`` (UTF-8) under the decoded account key."""
    return base64.b64encode(hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()).decode()


def canonicalized_headers(headers: Mapping[str, str]) -> str:
    """Every ``x-ms-`` header as ``name:value\\n``, names lower-cased and sorted."""
    found = sorted(
        (name.lower(), value.strip())
        for name, value in headers.items()
        if name.lower().startswith("x-ms-")
    )
    return "".join(f"{name}:{value}\n" for name, value in found)


def canonicalized_resource(account: str, encoded_path: str, query: str) -> str:
    """``/<account><path>`` and one ``\\nname:v1,v2`` line per query parameter."""
    resource = f"/{account}{encoded_path or '/'}"
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name.lower(), []).append(value)
    for name in sorted(params):
        resource += f"\n{name}:{','.join(sorted(params[name]))}"
    return resource


def string_to_sign(
    method: str, headers: Mapping[str, str], account: str, encoded_path: str, query: str
) -> str:
    """The Shared Key StringToSign of one request (Blob service, version 2015-02-21+)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    values = [lowered.get(name, "") for name in _STANDARD]
    if values[2] == "0":
        values[2] = ""  # Content-Length: empty when the body is empty
    return (
        "\n".join([method.upper(), *values])
        + "\n"
        + canonicalized_headers(headers)
        + canonicalized_resource(account, encoded_path, query)
    )


class SharedKeyAuth(httpx.Auth):
    """Signs each request as it leaves: ``x-ms-date``, ``x-ms-version``, ``Authorization``."""

    def __init__(self, account: str, key: bytes, version: str) -> None:
        self._account = account
        self._key = key
        self._version = version

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.headers.get("content-length", "0") != "0":
            # Transports add a default Content-Type after signing (aiohttp does): fix it first.
            request.headers.setdefault("Content-Type", "application/octet-stream")
        request.headers["x-ms-date"] = format_datetime(datetime.now(UTC), usegmt=True)
        request.headers.setdefault("x-ms-version", self._version)
        text = string_to_sign(
            request.method,
            request.headers,
            self._account,
            request.url.raw_path.split(b"?", 1)[0].decode("ascii"),
            request.url.query.decode("ascii"),
        )
        request.headers["Authorization"] = f"SharedKey {self._account}:{sign(self._key, text)}"
        yield request

    def __repr__(self) -> str:
        return f"<SharedKeyAuth account={self._account!r}>"


def sas_string_to_sign(
    *,
    permissions: str,
    expiry: str,
    account: str,
    container: str,
    blob: str,
    version: str,
    protocol: str = "",
    start: str = "",
) -> str:
    """The service SAS StringToSign for one blob (``sr=b``), version 2020-12-06 and later."""
    return "\n".join(
        [
            permissions,
            start,
            expiry,
            f"/blob/{account}/{container}/{blob}",
            "",  # si: no stored access policy
            "",  # sip: any address
            protocol,
            version,
            "b",  # sr: one blob
            "",  # signed snapshot time
            "",  # ses: no encryption scope
            "",  # rscc, rscd, rsce, rscl, rsct: no response-header overrides
            "",
            "",
            "",
            "",
        ]
    )


def sas_query(
    key: bytes,
    *,
    permissions: str,
    expires_at: datetime,
    account: str,
    container: str,
    blob: str,
    version: str,
    https_only: bool,
) -> str:
    """The SAS token (a query string) granting ``permissions`` on one blob until ``expires_at``."""
    expiry = expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    protocol = "https" if https_only else ""
    text = sas_string_to_sign(
        permissions=permissions,
        expiry=expiry,
        account=account,
        container=container,
        blob=blob,
        version=version,
        protocol=protocol,
    )
    params = {"sv": version, "sr": "b", "sp": permissions, "se": expiry}
    if protocol:
        params["spr"] = protocol
    params["sig"] = sign(key, text)
    return urlencode(params, quote_via=quote, safe="")
