"""Hostile input at every registered webhook handler: only WebhookError may come out.

A handler that raises anything else turns a forged request into a 500 (and a vendor retry loop)
instead of a 400; these properties hold for every provider whose ProviderSpec names a handler.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import Hub, HubSettings
from hub.errors import ConfigurationError, WebhookError
from hub.plugins import Registry, discover
from hub.testing.webhooks import with_webhooks
from hub.webhooks.builtin import HANDLER
from hub.webhooks.events import EVENT_TYPES, HubEvent
from hub.webhooks.handler import InboundRequest, WebhookHandler, webhook_handler

URL = "https://hooks.example.com/webhooks/x"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def registry() -> Registry:
    # The built-in providers' handler, also before their ProviderSpecs declare it.
    return with_webhooks(discover(), {"fake": HANDLER, "local": HANDLER})


PROVIDERS = sorted({name for (_, name), spec in registry().providers.items() if spec.webhook})


def _sendgrid_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


#: Test-only settings that let each vendor handler start, so every handler meets the fuzzer.
VENDOR_SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "email": {
        "sendgrid": {"webhook_public_key": [_sendgrid_key()]},
        "postmark": {"webhook_username": "hooks", "webhook_password": "fuzz-password-123"},
        "mailgun": {
            "api_key": "key-fuzz-0000000000",
            "domain": "mg.example.com",
            "webhook_signing_key": "fuzz-signing-key-123",
        },
    },
    "sms": {
        "twilio": {"account_sid": "AC" + "0" * 32, "auth_token": "fuzz-auth-token-123"},
        "twilio_verify": {"account_sid": "AC" + "0" * 32, "auth_token": "fuzz-auth-token-123"},
        "vonage": {"api_key": "fuzzkey", "signature_secret": "fuzz-signature-secret"},
    },
    "payments": {
        "stripe": {"secret_key": "sk_test_fuzz", "webhook_secrets": ["whsec_fuzz-secret-123"]},
        "paypal": {"client_id": "fuzz", "client_secret": "fuzz-secret", "webhook_id": ["WH-FUZZ"]},
    },
}


def handler_for(provider: str) -> tuple[Hub, WebhookHandler]:
    settings = HubSettings.load(env="test", **VENDOR_SETTINGS)
    hub = Hub(settings, registry=registry())
    try:
        return hub, webhook_handler(hub, provider)
    except ConfigurationError as exc:
        anyio.run(hub.aclose)
        pytest.skip(f"the {provider!r} webhook handler needs configuration to start: {exc}")


# -- strategies --------------------------------------------------------------------------------

latin1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=80)
now = int(time.time())
header_names = st.sampled_from(
    [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "Stripe-Signature",
        "X-Twilio-Signature",
        "X-Twilio-Email-Event-Webhook-Signature",
        "X-Twilio-Email-Event-Webhook-Timestamp",
        "content-type",
        "x-anything",
    ]
) | st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1)
header_values = latin1 | st.sampled_from([
    str(now), str(now - 10_000), "99999999999999999999", "v1,", "v1,AAAA v1a,BBBB", "t=,v1=",
    f"t={now},v1=00", "application/json", "application/x-www-form-urlencoded", "whsec_",
])  # fmt: skip
headers = st.dictionaries(header_names, header_values, max_size=8)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
data_keys = st.sampled_from([*HubEvent.model_fields, "event_type", "self", "fields"]) | st.text(
    max_size=10
)
envelopes = st.fixed_dictionaries(
    {
        "type": st.sampled_from(sorted(EVENT_TYPES)) | st.text(max_size=20) | json_values,
        "timestamp": st.sampled_from(["2024-01-01T00:00:00Z", "nope"]) | json_values,
        "data": st.dictionaries(data_keys, json_values, max_size=6) | json_values,
    },
    optional={"extra": json_values},
)
bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.lists(envelopes, max_size=3).map(lambda v: json.dumps(v).encode())
    | envelopes.map(lambda v: json.dumps(v).encode())
    | st.sampled_from([b"[" * 5000, b'{"a":' * 3000, b"1" * 5000, b"\xff\xfe"])
)


def refused_or_parsed(handler: WebhookHandler, request: InboundRequest) -> None:
    try:
        handler.verify(request)
        events = handler.parse(request)
    except WebhookError:
        return
    assert all(isinstance(e, HubEvent) for e in events)


# -- properties --------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_arbitrary_requests_raise_only_webhook_error(isolated_env: None, provider: str) -> None:
    hub, handler = handler_for(provider)

    @FUZZ
    @given(headers=headers, body=bodies, method=st.sampled_from(["POST", "PUT", "GET"]))
    def check(headers: dict[str, str], body: bytes, method: str) -> None:
        refused_or_parsed(
            handler, InboundRequest(method=method, url=URL, headers=headers, body=body)
        )

    try:
        check()
    finally:
        anyio.run(hub.aclose)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_genuinely_signed_garbage_raises_only_webhook_error(
    isolated_env: None, provider: str
) -> None:
    """Past the signature check, parse() meets hostile payloads: still only WebhookError."""
    hub, handler = handler_for(provider)
    sign: Any = getattr(handler, "sign", None)
    try:
        sign(b"{}", url=URL)
    except (TypeError, NotImplementedError):
        anyio.run(hub.aclose)
        pytest.skip(f"the {provider!r} handler has no sign() test hook")

    garbage = b"\x00 not a payload"
    try:
        handler.verify(InboundRequest(url=URL, headers=sign(garbage, url=URL), body=garbage))
    except WebhookError:
        anyio.run(hub.aclose)
        pytest.skip(f"the {provider!r} scheme signs parsed parameters: garbage cannot be signed")

    @FUZZ
    @given(body=bodies, extra=headers)
    def check(body: bytes, extra: dict[str, str]) -> None:
        signed = {**extra, **sign(body, url=URL)}
        request = InboundRequest(url=URL, headers=signed, body=body)
        handler.verify(request)  # a genuine signature must pass, whatever the body
        try:
            events = handler.parse(request)
        except WebhookError:
            return
        assert all(e.provider == provider for e in events)

    try:
        check()
        encode = getattr(handler, "encode", None)
        if encode is not None:  # and a well-formed payload does get through
            event = HubEvent(
                type="email.opened", provider=provider, capability="email", provider_event_id="e"
            )
            try:
                body = encode([event])
            except NotImplementedError:
                return  # the handler has no encode() test hook: its own tests cover payloads
            request = InboundRequest(url=URL, headers=sign(body, url=URL), body=body)
            assert [e.type for e in handler.parse(request)] == ["email.opened"]
    finally:
        anyio.run(hub.aclose)


@FUZZ
@given(body=bodies)
def test_inbound_request_parsers_raise_only_webhook_error(body: bytes) -> None:
    request = InboundRequest(url=URL, body=body)
    for parse in (request.json, request.form):
        with contextlib.suppress(WebhookError):
            parse()


def test_the_builtin_handlers_are_fuzzed() -> None:
    assert {"fake", "local"} <= set(PROVIDERS)
