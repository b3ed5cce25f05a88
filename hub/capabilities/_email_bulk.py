"""``hub.email.send_bulk``: one message, a copy to each of many recipients.

The newsletter shape: every recipient gets their own copy (nobody sees the others), with their
own template data and metadata if given. Vendors take this as one request per few hundred or
thousand recipients (SendGrid personalizations), so the per-recipient cost has to be small: a
recipient is a named tuple checked by the address fast path, not a pydantic model, and a
vendor request's receipt is shared by the recipients it carried.

Providers declaring the ``bulk`` feature implement :meth:`BulkEmailProvider.send_bulk`; for any
other provider the hub expands the recipients into messages and uses ``send_many``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from hub.capabilities._batch import SendResult, gc_paused
from hub.capabilities._models import parse_input
from hub.capabilities.email import Address, EmailReceipt, _plain_normalized
from hub.errors import HubError, InvalidRequest

__all__ = ["BulkFailure", "BulkRecipient", "BulkResult", "Prepared", "prepare_recipients"]


class BulkRecipient(NamedTuple):
    """One recipient of a bulk send: their address and what is theirs alone.

    ``template_data`` fills the message's template for them (merged over the message's own);
    ``metadata`` travels with their copy to delivery events (merged over the message's).
    A named tuple, not a model: a bulk send makes one per recipient, at a few µs each.
    """

    email: str
    name: str | None = None
    template_data: Mapping[str, Any] | None = None
    metadata: Mapping[str, str] | None = None


class BulkFailure(BaseModel):
    """A recipient who was not sent to, and why."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(description="the recipient's position in the recipients given")
    email: str = Field(description="the address as given (or as far as it could be read)")
    error_type: str = Field(description="the hub error's class, e.g. InvalidRequest")
    message: str
    retryable: bool = Field(False, description="whether sending again may succeed as it is")


class BulkResult(BaseModel):
    """What a bulk send did: a receipt per vendor request, and the recipients that failed."""

    model_config = ConfigDict(frozen=True)

    #: One per vendor request that was accepted, each listing the recipients it carried.
    receipts: list[EmailReceipt] = Field(default_factory=list)
    failures: list[BulkFailure] = Field(default_factory=list)
    #: How many recipients a vendor accepted.
    sent: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def failed_indexes(self) -> list[int]:
        """Positions (in the recipients given) to send again, e.g. with a new key."""
        return [failure.index for failure in self.failures]


def failure(index: int, email: str, error: HubError) -> BulkFailure:
    retryable = bool(getattr(error, "retryable", False))
    return BulkFailure(
        index=index,
        email=email,
        error_type=type(error).__name__,
        message=str(error),
        retryable=retryable,
    )


@dataclasses.dataclass(slots=True)
class Prepared:
    """The recipients of a bulk send, checked."""

    #: ``(position given, recipient)`` of each one to send to, in order.
    ready: list[tuple[int, BulkRecipient]]
    #: The ones refused (invalid, or an address given twice).
    refused: list[BulkFailure]
    #: Whether any recipient carries template data / metadata of their own.
    template_data: bool = False
    metadata: bool = False


def prepare_recipients(recipients: Sequence[Any]) -> Prepared:
    """Each recipient checked, by position; an address given twice is refused the second time
    (each recipient gets one copy). Plain address strings, the usual case, take a short path:
    one check and one named tuple each."""
    prepared = Prepared([], [])
    ready, refused = prepared.ready, prepared.refused
    seen: set[str] = set()
    with gc_paused():
        for index, given in enumerate(recipients):
            plain = _plain_normalized(given) if type(given) is str else None
            if plain is not None:
                recipient = BulkRecipient(plain)
            else:
                try:
                    recipient = _recipient(given)
                except InvalidRequest as exc:
                    refused.append(failure(index, _shown(given), exc))
                    continue
                prepared.template_data = prepared.template_data or bool(recipient.template_data)
                prepared.metadata = prepared.metadata or bool(recipient.metadata)
            lowered = recipient.email.lower()
            if lowered in seen:
                duplicate = InvalidRequest(
                    f"{recipient.email} is given twice; each recipient gets one copy, keep one",
                    field=f"recipients.{index}",
                )
                refused.append(failure(index, recipient.email, duplicate))
                continue
            seen.add(lowered)
            ready.append((index, recipient))
    return prepared


def _recipient(given: Any) -> BulkRecipient:
    """Any recipient form but an everyday address string (prepare_recipients took those)."""
    if isinstance(given, str):
        address = parse_input(Address, given, what="recipient")
        return BulkRecipient(address.email, address.name)
    if isinstance(given, Address):
        return BulkRecipient(given.email, given.name)
    if isinstance(given, Mapping):
        try:
            given = BulkRecipient(**given)
        except TypeError as exc:
            raise InvalidRequest(
                f"invalid recipient {dict(given)!r}: {exc}; use the keys email, name, "
                "template_data and metadata",
                field="recipients",
            ) from None
    if not isinstance(given, BulkRecipient):
        raise InvalidRequest(
            f"a recipient must be an address, an Address or a BulkRecipient, not "
            f"{type(given).__name__}",
            field="recipients",
        )
    address = parse_input(Address, {"email": given.email, "name": given.name}, what="recipient")
    for name, value in (("template_data", given.template_data), ("metadata", given.metadata)):
        if value is not None and not isinstance(value, Mapping):
            raise InvalidRequest(f"a recipient's {name} must be a mapping", field=name)
    if given.metadata and not all(isinstance(v, str) for v in given.metadata.values()):
        raise InvalidRequest("a recipient's metadata values must be strings", field="metadata")
    return given._replace(email=address.email, name=address.name)


def _shown(given: Any) -> str:
    if isinstance(given, str):
        return given
    email = given.get("email") if isinstance(given, Mapping) else getattr(given, "email", None)
    return email if isinstance(email, str) else repr(given)


def result_of(
    ready: Sequence[tuple[int, BulkRecipient]],
    outcomes: Sequence[EmailReceipt | HubError],
    refused: list[BulkFailure],
) -> BulkResult:
    """The result of one outcome per ready recipient (a receipt shared by a request's
    recipients, or the error of that request)."""
    receipts: dict[int, EmailReceipt] = {}
    failures = list(refused)
    sent = 0
    with gc_paused():
        for (index, recipient), outcome in zip(ready, outcomes, strict=True):
            if isinstance(outcome, HubError):
                failures.append(failure(index, recipient.email, outcome))
            else:
                receipts.setdefault(id(outcome), outcome)
                sent += 1
    failures.sort(key=lambda f: f.index)
    return BulkResult(receipts=list(receipts.values()), failures=failures, sent=sent)


def result_of_each(
    ready: Sequence[tuple[int, BulkRecipient]],
    results: Sequence[SendResult[EmailReceipt]],
    refused: list[BulkFailure],
) -> BulkResult:
    """The result of a ``send_many`` of one message per ready recipient."""
    outcomes: list[EmailReceipt | HubError] = []
    for result in results:
        outcome = result.receipt if result.receipt is not None else result.error
        assert outcome is not None  # a SendResult holds one or the other
        outcomes.append(outcome)
    return result_of(ready, outcomes, refused)
