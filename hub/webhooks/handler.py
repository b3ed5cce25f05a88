"""What a vendor's webhook handler is given and must do, and how the hub builds and runs one.

A plugin declares ``ProviderSpec(webhook="hub_acme.webhooks:AcmeWebhooks")``: a factory called
as ``factory(settings, context)`` with the provider's validated settings, returning an object
with ``verify(request)`` (raise :class:`~hub.errors.WebhookError` unless the request is genuine)
and ``parse(request) -> list[HubEvent]``. Subclassing :class:`BaseWebhookHandler` gives the
factory signature, :meth:`BaseWebhookHandler.event` (payload mistakes become WebhookError) and the
optional test hooks ``sign``/``encode`` that :mod:`hub.testing.webhooks` uses.

Both methods are synchronous and do no I/O: verification is arithmetic over the request, and
everything that waits (dedupe, the app's handlers) happens in the dispatcher afterwards. A
scheme that must fetch something first (Amazon SNS and PayPal sign with a certificate named in
the request) adds ``async prepare(request)``, awaited before ``verify``, to fetch and cache it
(:mod:`hub.webhooks.certificates`).

A handler may also say which status the receiver answers a request it refuses with
(``refusal_status``, 400 unless set): some vendors retry every other answer, so a forged or
broken request would come back forever (Mailgun stops only on 200 or 406).
"""

from __future__ import annotations

import abc
import json
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers, ImmutableMultiDict

from hub._runtime import ProviderContext
from hub.errors import ConfigurationError, HubError, WebhookError
from hub.settings import secret_values
from hub.webhooks.dispatcher import Delivery
from hub.webhooks.events import HubEvent

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = [
    "DEFAULT_REFUSAL_STATUS",
    "BaseWebhookHandler",
    "InboundRequest",
    "Received",
    "WebhookHandler",
    "receive",
    "refusal_status",
    "webhook_handler",
]

#: What the receiver answers a request that fails verification or parsing, unless the handler
#: sets ``refusal_status``.
DEFAULT_REFUSAL_STATUS = 400

HeadersInput = Headers | Mapping[str, str] | Iterable[tuple[str, str]]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UNSET: Any = object()


class InboundRequest:
    """A webhook request as the vendor sent it: method, URL it called, headers, raw body."""

    __slots__ = ("_form", "_json", "body", "headers", "method", "url")

    def __init__(
        self,
        *,
        url: str,
        body: bytes = b"",
        headers: HeadersInput = (),
        method: str = "POST",
    ) -> None:
        self.method = method.upper()
        #: The full URL the vendor requested (``settings.webhooks.public_url`` behind a proxy).
        self.url = url
        #: Case-insensitive, immutable; ``headers.getlist(name)`` for repeated headers.
        self.headers = headers if isinstance(headers, Headers) else _headers(headers)
        self.body = bytes(body)
        self._json: Any = _UNSET
        self._form: ImmutableMultiDict[str, str] | None = None

    def json(self) -> Any:
        """The body parsed as JSON; WebhookError if it is not JSON."""
        if self._json is _UNSET:
            try:
                self._json = json.loads(self.body)
            except (ValueError, RecursionError):
                raise WebhookError("body is not valid JSON") from None
        return self._json

    def form(self) -> ImmutableMultiDict[str, str]:
        """The body parsed as ``application/x-www-form-urlencoded``; WebhookError if it is not."""
        if self._form is None:
            try:
                text = self.body.decode("utf-8")
                pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
            except ValueError:
                raise WebhookError("body is not a valid urlencoded form") from None
            self._form = ImmutableMultiDict(pairs)
        return self._form

    def __repr__(self) -> str:
        # Headers carry signatures and the body personal data: neither belongs in a log line.
        return f"<InboundRequest {self.method} {self.url} body={len(self.body)} bytes>"


def _headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> Headers:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    try:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
    except UnicodeEncodeError:
        raise WebhookError("header names and values must be latin-1 (HTTP) text") from None
    return Headers(raw=raw)


@runtime_checkable
class WebhookHandler(Protocol):
    """Verifies and parses one provider's webhooks; raises only WebhookError for bad requests."""

    def verify(self, request: InboundRequest) -> None: ...

    def parse(self, request: InboundRequest) -> list[HubEvent]: ...


class BaseWebhookHandler(abc.ABC):
    """A base for plugin handlers: the factory signature plus shared helpers and test hooks."""

    #: The 4xx the receiver answers when this handler raises WebhookError: the status that
    #: makes the vendor stop retrying, where it has one (Mailgun: 406).
    refusal_status: ClassVar[int] = DEFAULT_REFUSAL_STATUS

    def __init__(self, settings: BaseModel, context: ProviderContext) -> None:
        self.settings = settings
        self.provider = context.name
        self.capability = context.capability
        #: Accepted clock skew of signed timestamps, seconds (``settings.webhooks.tolerance``).
        self.tolerance = context.hub_settings.webhooks.tolerance

    @abc.abstractmethod
    def verify(self, request: InboundRequest) -> None:
        """Raise WebhookError unless ``request`` is genuine (see :mod:`hub.webhooks.signatures`)."""

    @abc.abstractmethod
    def parse(self, request: InboundRequest) -> list[HubEvent]:
        """The normalized events in a verified request; WebhookError if it makes no sense."""

    def event(self, event_type: str, provider_event_id: str, /, **fields: Any) -> HubEvent:
        """A HubEvent of this provider; a payload that does not fit raises WebhookError."""
        fields.setdefault("capability", self.capability)
        try:
            return HubEvent(
                type=event_type,
                provider=self.provider,
                provider_event_id=provider_event_id,
                **fields,
            )
        except (ValidationError, TypeError) as exc:
            raise WebhookError(
                f"{self.provider} webhook payload does not fit a {event_type!r} event: "
                + _summary(exc),
                provider=self.provider,
            ) from None

    # -- test hooks (optional): what hub.testing.webhooks needs to forge a genuine request ------

    def sign(self, body: bytes, *, url: str) -> dict[str, str]:
        """Headers the vendor would attach to ``body`` posted to ``url``."""
        raise NotImplementedError(f"{type(self).__name__} has no sign() test hook")

    def encode(self, events: Sequence[HubEvent]) -> bytes:
        """The body the vendor would send to report ``events``."""
        raise NotImplementedError(f"{type(self).__name__} has no encode() test hook")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.provider!r}>"


def _summary(exc: Exception) -> str:
    """Where and what, never the offending value (it came from the network)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = repr(".".join(str(part) for part in first["loc"]))[:60]
        return f"{exc.error_count()} problem(s), first at {where}: {first['msg']}"
    return type(exc).__name__


# -- building handlers for a hub -------------------------------------------------------------

_handlers: weakref.WeakKeyDictionary[Hub, dict[str, WebhookHandler]] = weakref.WeakKeyDictionary()


def webhook_handler(hub: Hub, provider: str) -> WebhookHandler:
    """The webhook handler of ``provider`` in ``hub``, built once with its validated settings."""
    built = _handlers.setdefault(hub, {})
    handler = built.get(provider)
    if handler is None:
        handler = built[provider] = _build(hub, provider)
    return handler


def _build(hub: Hub, provider: str) -> WebhookHandler:
    from hub.plugins import import_string

    spec = hub.registry.webhook_provider(provider) if _NAME.match(provider) else None
    if spec is None or spec.webhook is None:
        with_hooks = sorted({n for (_, n), s in hub.registry.providers.items() if s.webhook})
        raise ConfigurationError(
            f"no provider {provider!r} with a webhook handler is installed; providers with "
            f"webhooks: {', '.join(with_hooks) or 'none'}"
        )
    section = hub.settings.capability(spec.capability).provider_section(spec.name)
    settings = hub.provider_settings(spec, section)
    runtime = hub._runtime  # the handler gets the same context a provider would
    runtime.secrets.update(secret_values(settings))
    factory = import_string(spec.webhook)
    context = ProviderContext(capability=spec.capability, name=spec.name, runtime=runtime)
    try:
        handler = factory(settings, context)
    except HubError:
        raise
    except Exception as exc:
        raise ConfigurationError(
            f"webhook handler of provider {provider!r} could not start: {type(exc).__name__}"
        ) from exc
    if not isinstance(handler, WebhookHandler):
        raise ConfigurationError(
            f"{spec.webhook} returned {type(handler).__name__}, which has no verify()/parse()"
        )
    status = getattr(handler, "refusal_status", DEFAULT_REFUSAL_STATUS)
    if type(status) is not int or not 400 <= status <= 499:
        raise ConfigurationError(
            f"{spec.webhook} declares refusal_status={status!r}; a refusal must be a 4xx status"
        )
    return handler


def refusal_status(hub: Hub, provider: str) -> int:
    """The status the receiver answers a refused request for ``provider`` with.

    The handler's ``refusal_status`` (checked when it was built), or 400 when the handler
    cannot be built at all.
    """
    try:
        handler = webhook_handler(hub, provider)
    except HubError:
        return DEFAULT_REFUSAL_STATUS
    status: int = getattr(handler, "refusal_status", DEFAULT_REFUSAL_STATUS)
    return status


# -- receiving ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """What one webhook request amounted to."""

    #: Events in the request.
    received: int = 0
    #: Of those, events handled before (handlers did not run again).
    duplicates: int = 0
    #: Of those, events another delivery is handling right now: the vendor should retry.
    in_progress: int = 0


async def receive(hub: Hub, provider: str, request: InboundRequest) -> Received:
    """Verify, parse and dispatch one request: the whole receiver, without HTTP.

    Raises WebhookError for a request that is not genuine or makes no sense, ConfigurationError
    if the provider has no (working) handler, and whatever an app handler raised.
    """
    handler = webhook_handler(hub, provider)
    prepare = getattr(handler, "prepare", None)
    if prepare is not None:
        await prepare(request)
    handler.verify(request)
    events = handler.parse(request)
    dispatcher = hub._runtime.dispatcher
    counts = {outcome: 0 for outcome in Delivery}
    for event in events:
        counts[await dispatcher.deliver(event)] += 1
    return Received(
        received=len(events),
        duplicates=counts[Delivery.DUPLICATE],
        in_progress=counts[Delivery.IN_PROGRESS],
    )
