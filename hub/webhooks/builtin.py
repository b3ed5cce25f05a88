"""The webhook handler of the built-in ``local`` and ``fake`` providers.

They have no vendor to call back, so they speak the most common open scheme, `Standard Webhooks
<https://www.standardwebhooks.com>`_ (``webhook-id`` / ``webhook-timestamp`` /
``webhook-signature``, ``whsec_`` secrets), and a body that is the HubEvent itself::

    {"type": "email.delivered", "timestamp": "2024-05-01T12:00:00+00:00",
     "data": {"provider_event_id": "…", "capability": "email", "subject_id": "…", "recipient": "…"}}

or a JSON array of such objects. An app can therefore test its webhook endpoint end to end with
no vendor, through the same verification, dedupe and dispatch as a real vendor's webhook.

Secrets, first found wins: the ``secrets`` argument; ``settings.webhooks.builtin_secrets``
(``HUB_WEBHOOKS__BUILTIN_SECRETS``, several while rotating); in ``test`` and ``development``
only, the public :data:`DEVELOPMENT_SECRET`. Elsewhere a missing secret is a ConfigurationError.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, SecretStr

from hub._runtime import ProviderContext
from hub.errors import ConfigurationError, WebhookError
from hub.settings import Environment
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import BaseWebhookHandler, InboundRequest
from hub.webhooks.signatures import sign_standard_webhook, verify_standard_webhook

__all__ = ["DEVELOPMENT_SECRET", "HANDLER", "BuiltinWebhookHandler"]

#: What the ``local`` and ``fake`` ProviderSpecs name as ``webhook=``.
HANDLER = "hub.webhooks.builtin:BuiltinWebhookHandler"

#: Public, hence worthless outside test and development, where it is the default.
DEVELOPMENT_SECRET = "whsec_aHViLWRldmVsb3BtZW50LXdlYmhvb2stc2VjcmV0"  # noqa: S105 - documented
_KEYS = frozenset({"type", "timestamp", "data"})
_NOT_IN_DATA = frozenset({"type", "occurred_at", "provider", "raw"})


class BuiltinWebhookHandler(BaseWebhookHandler):
    """Standard Webhooks over HubEvent JSON, for the ``local`` and ``fake`` providers."""

    def __init__(
        self,
        settings: BaseModel,
        context: ProviderContext,
        *,
        secrets: Sequence[str | SecretStr] | None = None,
    ) -> None:
        super().__init__(settings, context)
        self._secrets = _resolve_secrets(secrets, context)

    def verify(self, request: InboundRequest) -> None:
        verify_standard_webhook(
            request.headers, request.body, secrets=self._secrets, tolerance=self.tolerance
        )

    def parse(self, request: InboundRequest) -> list[HubEvent]:
        payload = request.json()
        items = payload if isinstance(payload, list) else [payload]
        return [self._event(item) for item in items]

    def _event(self, item: Any) -> HubEvent:
        if not isinstance(item, dict) or set(item) != _KEYS or not isinstance(item["data"], dict):
            raise WebhookError(
                "each event must be an object with type, timestamp and data", provider=self.provider
            )
        data = dict(item["data"])
        event_id = data.pop("provider_event_id", None)
        if not isinstance(item["type"], str) or not isinstance(event_id, str):
            raise WebhookError("event type and data.provider_event_id must be strings")
        if _NOT_IN_DATA & data.keys():
            raise WebhookError("event data names a field that only the envelope may set")
        return self.event(item["type"], event_id, occurred_at=item["timestamp"], raw=item, **data)

    # -- test hooks -------------------------------------------------------------------------

    def sign(self, body: bytes, *, url: str) -> dict[str, str]:
        # The id is derived from the body, so a redelivery of the same body keeps its id.
        msg_id = "msg_" + hashlib.sha256(body).hexdigest()[:32]
        return sign_standard_webhook(
            body, secret=self._secrets[0], msg_id=msg_id, timestamp=int(time.time())
        )

    def encode(self, events: Sequence[HubEvent]) -> bytes:
        items = [_wire(event) for event in events]
        return json.dumps(items[0] if len(items) == 1 else items).encode("utf-8")


def _wire(event: HubEvent) -> dict[str, Any]:
    data = event.model_dump(mode="json", exclude=set(_NOT_IN_DATA), exclude_none=True)
    return {"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": data}


def _resolve_secrets(
    secrets: Sequence[str | SecretStr] | None, context: ProviderContext
) -> list[str]:
    if secrets is None:
        # ``builtin_secrets`` is read if the hub's WebhookSettings has it (see module docstring).
        secrets = getattr(context.hub_settings.webhooks, "builtin_secrets", None) or None
    if secrets is None:
        if context.env not in (Environment.TEST, Environment.DEVELOPMENT):
            raise ConfigurationError(
                f"the {context.name!r} provider's webhooks need a secret with "
                f"HUB_ENV={context.env.value}: set HUB_WEBHOOKS__BUILTIN_SECRETS='[\"whsec_…\"]'"
            )
        secrets = [DEVELOPMENT_SECRET]
    if isinstance(secrets, str | SecretStr):
        secrets = [secrets]
    values = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
    if not values or not all(values):
        raise ConfigurationError(f"the {context.name!r} provider's webhook secrets are empty")
    for value in values:  # refuse a malformed secret now, not as a 500 on every request
        sign_standard_webhook(b"", secret=value, msg_id="check", timestamp=0)
    return values
