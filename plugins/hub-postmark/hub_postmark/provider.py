"""Postmark email over its Email API, on :class:`hub.http.HttpProvider`.

``send`` posts to ``/email`` (or ``/email/withTemplate``); ``send_many`` to ``/email/batch``
(or ``/email/batchWithTemplates``), 500 messages a request, each message answered on its own.
Postmark has no idempotency key: the hub remembers keys itself. A send refused for inactive
(suppressed) recipients, ErrorCode 406, is a receipt whose inactive recipients are *rejected*.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from hub.capabilities._batch import prepare_each, send_chunks
from hub.capabilities.email import EmailMessage, EmailReceipt
from hub.errors import HubError, ProviderError
from hub.http import HttpProvider
from hub_postmark.errors import code_error
from hub_postmark.mapping import (
    INACTIVE_RECIPIENT,
    Kind,
    inactive_addresses,
    message_body,
    receipt,
)
from hub_postmark.settings import PostmarkSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = ["MAX_BATCH", "PostmarkEmailProvider"]

#: Messages per batch request.
MAX_BATCH = 500
_SINGLE: dict[Kind, str] = {"email": "/email", "template": "/email/withTemplate"}
_BATCH: dict[Kind, str] = {"email": "/email/batch", "template": "/email/batchWithTemplates"}
Prepared = tuple[Kind, dict[str, Any]]
Chunk = Sequence[tuple[int, Prepared]]


class PostmarkEmailProvider(HttpProvider):
    """The ``postmark`` email provider."""

    base_url = "https://api.postmarkapp.com"
    idempotency_header = None  # Postmark has none; the hub's guard remembers keys

    def __init__(self, settings: PostmarkSettings, context: ProviderContext) -> None:
        token = settings.require_token()
        super().__init__(
            context,
            headers={"X-Postmark-Server-Token": token, "Accept": "application/json"},
            secrets=[token],
        )
        self.message_stream = settings.message_stream

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> EmailReceipt:
        kind, body = message_body(message, message_stream=self.message_stream, provider=self.name)
        response = await self.request("POST", _SINGLE[kind], json=body, expected=(200, 422))
        # A 406 refusal (recipients suppressed) is a receipt whose recipients are rejected.
        if response.status_code == 422 and _object(response).get("ErrorCode") != INACTIVE_RECIPIENT:
            raise self.error_for(response)
        return self._receipt(self.json_object(response), message, idempotency_key)

    async def send_many(
        self, messages: Sequence[EmailMessage], *, idempotency_keys: Sequence[str]
    ) -> list[EmailReceipt | HubError]:
        """One result per message, in order; Postmark answers each message of a batch
        (a failed request fails its messages once one succeeded, see ``send_chunks``)."""
        ready, refused = prepare_each(
            messages,
            partial(message_body, message_stream=self.message_stream, provider=self.name),
        )

        async def post(chunk: Chunk) -> list[EmailReceipt | HubError]:
            _, (kind, _) = chunk[0]  # a chunk holds one kind
            bodies = [body for _, (_, body) in chunk]
            payload: Any = {"Messages": bodies} if kind == "template" else bodies
            response = await self.request("POST", _BATCH[kind], json=payload, expected=(200,))
            answers = _answers(response, len(chunk), self.name)
            return [
                self._outcome(answer, messages[index], idempotency_keys[index])
                for (index, _), answer in zip(chunk, answers, strict=True)
            ]

        return await send_chunks(_chunks(ready), post, refused=refused)

    def _outcome(
        self, answer: dict[str, Any], message: EmailMessage, key: str
    ) -> EmailReceipt | HubError:
        code = answer.get("ErrorCode", 0)
        if code in (0, INACTIVE_RECIPIENT):
            return self._receipt(answer, message, key)
        text = str(answer.get("Message") or "")
        error = code_error(int(code), text, provider=self.name, status=None, raw=answer)
        return error or ProviderError(text, provider=self.name, raw=answer)

    def _receipt(self, answer: dict[str, Any], message: EmailMessage, key: str) -> EmailReceipt:
        inactive = None
        if answer.get("ErrorCode") == INACTIVE_RECIPIENT:
            inactive = inactive_addresses(str(answer.get("Message") or ""))
        return receipt(answer, message, provider=self.name, idempotency_key=key, inactive=inactive)

    # -- Postmark's error body: {"ErrorCode": n, "Message": "..."} ---------------------------

    def error_message(self, response: httpx.Response) -> str:
        return str(response.json()["Message"])

    def vendor_code(self, response: httpx.Response) -> str | None:
        code = response.json().get("ErrorCode")
        return None if code is None else str(code)

    def map_error(self, response: httpx.Response) -> HubError | None:
        if response.status_code == 413:
            return self.invalid_request(
                response,
                field="attachments",
                hint="Postmark accepts 10 MB per message (50 MB per batch), attachments included",
            )
        answer = _object(response)
        try:
            code = int(answer["ErrorCode"])
        except (ValueError, KeyError, TypeError):
            return None  # not Postmark's error body (a gateway page): the status decides
        raw = self.provider_error(ProviderError, response).raw
        text = str(answer.get("Message") or "")
        return code_error(code, text, provider=self.name, status=response.status_code, raw=raw)


def _object(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    return answer if isinstance(answer, dict) else {}


def _answers(response: httpx.Response, expected: int, provider: str) -> list[dict[str, Any]]:
    """The per-message answers of a batch, checked against what was sent."""
    try:
        answers = response.json()
    except ValueError:
        answers = None
    if (
        not isinstance(answers, list)
        or len(answers) != expected
        or not all(isinstance(a, dict) for a in answers)
    ):
        raise ProviderError(
            f"{provider}: the batch answer does not list {expected} results; the messages may "
            "have been sent",
            provider=provider,
            status=response.status_code,
            retryable=False,
            failover_safe=False,
        )
    return answers


def _chunks(ready: list[tuple[int, Prepared]]) -> Iterator[list[tuple[int, Prepared]]]:
    """Batch requests: plain and templated messages apart, at most 500 each."""
    kinds: tuple[Kind, ...] = ("email", "template")
    for kind in kinds:
        group = [item for item in ready if item[1][0] == kind]
        for start in range(0, len(group), MAX_BATCH):
            yield group[start : start + MAX_BATCH]
