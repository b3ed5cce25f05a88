"""Shared Key and SAS signing, checked against the examples in Microsoft's documentation.

"Authorize with Shared Key" (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key)
gives, for ``GET https://myaccount.blob.core.windows.net/mycontainer?restype=container&
comp=metadata&timeout=20`` with only x-ms-date and x-ms-version set, the StringToSign below, and
for a List Blobs URL with three ``include`` values, the canonicalized resource below.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest
from hub_azure.auth import (
    SharedKeyAuth,
    canonicalized_headers,
    canonicalized_resource,
    decode_key,
    sas_query,
    sas_string_to_sign,
    sign,
    string_to_sign,
)

from tests.plugins.azure.conftest import KEY

DOCUMENTED_STRING_TO_SIGN = (
    "GET\n\n\n\n\n\n\n\n\n\n\n\n"
    "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
    "x-ms-version:2015-02-21\n"
    "/myaccount/mycontainer\n"
    "comp:metadata\n"
    "restype:container\n"
    "timeout:20"
)


def test_string_to_sign_matches_the_documented_example() -> None:
    headers = {"x-ms-date": "Fri, 26 Jun 2015 23:39:12 GMT", "x-ms-version": "2015-02-21"}
    text = string_to_sign(
        "GET", headers, "myaccount", "/mycontainer", "restype=container&comp=metadata&timeout=20"
    )
    assert text == DOCUMENTED_STRING_TO_SIGN


def test_canonicalized_resource_matches_the_documented_example() -> None:
    query = (
        "restype=container&comp=list&include=snapshots&include=metadata&include=uncommittedblobs"
    )
    assert canonicalized_resource("myaccount", "/mycontainer", query) == (
        "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\n"
        "restype:container"
    )
    assert canonicalized_resource("myaccount", "/mycontainer/myblob", "") == (
        "/myaccount/mycontainer/myblob"
    )


def test_query_values_are_decoded_and_names_lower_cased() -> None:
    assert canonicalized_resource("acct", "/c", "Prefix=a%2Fb%20c&MARKER=x") == (
        "/acct/c\nmarker:x\nprefix:a/b c"
    )


def test_standard_headers_keep_their_places_and_a_zero_length_is_empty() -> None:
    headers = {
        "Content-Length": "0",
        "Content-Type": "text/plain",
        "If-Match": '"0x8D"',
        "x-ms-meta-b": "2",
        "X-MS-Meta-A": "1",
        "x-ms-date": "Fri, 26 Jun 2015 23:39:12 GMT",
    }
    lines = string_to_sign("PUT", headers, "acct", "/c/b", "").split("\n")
    assert lines[:12] == ["PUT", "", "", "", "", "text/plain", "", "", '"0x8D"', "", "", ""]
    assert canonicalized_headers(headers) == (
        "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-meta-a:1\nx-ms-meta-b:2\n"
    )


def test_signature_is_base64_hmac_sha256_under_the_decoded_key() -> None:
    key = decode_key(KEY)
    expected = hmac.new(
        base64.b64decode(KEY), DOCUMENTED_STRING_TO_SIGN.encode(), hashlib.sha256
    ).digest()
    assert sign(key, DOCUMENTED_STRING_TO_SIGN) == base64.b64encode(expected).decode()


def test_auth_flow_signs_what_is_sent() -> None:
    """The header names the account and signs the request as the transport will send it."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201)

    auth = SharedKeyAuth("devstoreaccount1", decode_key(KEY), "2021-08-06")
    with httpx.Client(transport=httpx.MockTransport(record), auth=auth) as client:
        client.put(
            "http://127.0.0.1:10000/devstoreaccount1/c/a%20b.txt",
            params={"comp": "block", "blockid": "QUJD"},
            content=b"12345",
        )
    (request,) = seen
    assert request.headers["x-ms-version"] == "2021-08-06"
    assert request.headers["content-type"] == "application/octet-stream", (
        "a body's type is fixed before signing, so no transport adds one after"
    )
    text = string_to_sign(
        "PUT",
        request.headers,
        "devstoreaccount1",
        "/devstoreaccount1/c/a%20b.txt",
        "comp=block&blockid=QUJD",
    )
    assert text.split("\n")[3] == "5"
    assert text.endswith("/devstoreaccount1/devstoreaccount1/c/a%20b.txt\nblockid:QUJD\ncomp:block")
    signature = sign(decode_key(KEY), text)
    assert request.headers["authorization"] == f"SharedKey devstoreaccount1:{signature}"


def test_sas_string_to_sign_has_the_documented_sixteen_fields() -> None:
    text = sas_string_to_sign(
        permissions="r",
        expiry="2026-01-01T00:00:00Z",
        account="myaccount",
        container="pictures",
        blob="profile/ada.jpg",
        version="2021-08-06",
        protocol="https",
    )
    assert text.split("\n") == [
        "r",
        "",
        "2026-01-01T00:00:00Z",
        "/blob/myaccount/pictures/profile/ada.jpg",
        "",
        "",
        "https",
        "2021-08-06",
        "b",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]


def test_sas_query_carries_the_signed_fields() -> None:
    key = decode_key(KEY)
    query = sas_query(
        key,
        permissions="cw",
        expires_at=datetime(2026, 1, 1, tzinfo=UTC),
        account="myaccount",
        container="pictures",
        blob="a b.jpg",
        version="2021-08-06",
        https_only=True,
    )
    fields = {name: values[0] for name, values in parse_qs(query).items()}
    assert fields == {
        "sv": "2021-08-06",
        "sr": "b",
        "sp": "cw",
        "se": "2026-01-01T00:00:00Z",
        "spr": "https",
        "sig": fields["sig"],
    }
    expected = sas_string_to_sign(
        permissions="cw",
        expiry="2026-01-01T00:00:00Z",
        account="myaccount",
        container="pictures",
        blob="a b.jpg",
        version="2021-08-06",
        protocol="https",
    )
    assert fields["sig"] == sign(key, expected)
    signature = query.split("sig=")[1]
    assert "+" not in signature, "the signature is percent-encoded in the URL"
    assert "/" not in signature


def test_a_key_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValueError, match="not base64"):
        decode_key("not a key!")
