"""What goes over the wire to the Blob service and back: metadata names, XML bodies, headers.

Azure requires metadata names to be C# identifiers (letters, digits, ``_``; no leading
digit), while the hub allows ``-`` (``customer-id``). Names are escaped reversibly on the way
out and unescaped on the way back: ``_`` → ``__``, ``-`` → ``_d``, a leading digit gets
``_n`` before it. Anything that is not such an escape reads back as it is.

XML comes from the storage service the settings name; it is parsed with the standard library's
expat, which expands no external entities.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote
from xml.etree import ElementTree

__all__ = [
    "META_PREFIX",
    "Listed",
    "block_id",
    "block_list_xml",
    "decode_meta_name",
    "encode_meta_name",
    "error_fields",
    "http_date",
    "metadata_from_headers",
    "metadata_headers",
]

META_PREFIX = "x-ms-meta-"


def encode_meta_name(name: str) -> str:
    escaped = "".join("__" if c == "_" else "_d" if c == "-" else c for c in name)
    return f"_n{escaped}" if escaped[:1].isdigit() else escaped


def decode_meta_name(name: str) -> str:
    name = name.lower()
    if name.startswith("_n") and name[2:3].isdigit():
        name = name[2:]
    out: list[str] = []
    index = 0
    while index < len(name):
        pair = name[index : index + 2]
        if pair == "__":
            out.append("_")
            index += 2
        elif pair == "_d":
            out.append("-")
            index += 2
        else:
            out.append(name[index])
            index += 1
    return "".join(out)


def metadata_headers(metadata: Mapping[str, str]) -> dict[str, str]:
    return {f"{META_PREFIX}{encode_meta_name(k)}": v for k, v in metadata.items()}


def metadata_from_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {
        decode_meta_name(name[len(META_PREFIX) :]): value
        for name, value in headers
        if name.lower().startswith(META_PREFIX)
    }


def block_id(upload: str, number: int) -> str:
    """Base64 block ids of one length per blob, as Put Block requires."""
    return base64.b64encode(f"{upload}-{number:06d}".encode()).decode()


def block_list_xml(ids: Iterable[str]) -> bytes:
    """The Put Block List body committing ``ids`` (the latest upload of each) in order."""
    blocks = "".join(f"<Latest>{i}</Latest>" for i in ids)
    return f'<?xml version="1.0" encoding="utf-8"?><BlockList>{blocks}</BlockList>'.encode()


def http_date(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return datetime.now(UTC)


def _parse(body: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(body)  # noqa: S314 - the configured service's answer; expat


def error_fields(body: bytes) -> tuple[str | None, str | None]:
    """``(Code, Message)`` of an ``<Error>`` body, Nones where it is not one."""
    try:
        root = _parse(body)
    except ElementTree.ParseError:
        return None, None
    message = root.findtext("Message")
    if message:
        message = message.split("\n", 1)[0]  # drop the RequestId/Time lines
    return root.findtext("Code"), message


def _children(parent: ElementTree.Element, tag: str) -> list[ElementTree.Element]:
    found = parent.find(tag)
    return [] if found is None else list(found)


class Listed:
    """One page of List Blobs: ``(name, properties, metadata)`` per blob and the next marker."""

    def __init__(self, body: bytes) -> None:
        root = _parse(body)
        self.blobs: list[tuple[str, dict[str, str], dict[str, str]]] = []
        for blob in root.iterfind("Blobs/Blob"):
            name_node = blob.find("Name")
            name = "" if name_node is None else name_node.text or ""
            if name_node is not None and name_node.get("Encoded") == "true":
                name = unquote(name)
            properties = {p.tag: p.text or "" for p in _children(blob, "Properties")}
            metadata = {decode_meta_name(m.tag): m.text or "" for m in _children(blob, "Metadata")}
            self.blobs.append((name, properties, metadata))
        self.next_marker = root.findtext("NextMarker") or None
