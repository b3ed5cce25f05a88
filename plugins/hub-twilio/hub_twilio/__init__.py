"""``hub-twilio``: Twilio SMS and Verify for the integration hub (hooks only; nothing heavy)."""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_M = "hub_twilio"
_ENV_VARS = {
    "account_sid": "TWILIO_ACCOUNT_SID",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "api_key_sid": "TWILIO_API_KEY",
    "api_key_secret": "TWILIO_API_SECRET",
    "messaging_service_sid": "TWILIO_MESSAGING_SERVICE_SID",
}
# No "batch": Twilio has no batch send, so send_many is the hub's concurrent sends.
# "sender_pool": with messaging_service_sid set, a message may leave the sender to Twilio.
_SENDING = frozenset({"media", "status_callback", "alphanumeric_sender", "sender_pool"})
_WEBHOOK = f"{_M}.webhooks:TwilioWebhooks"
_EVENTS = (
    "sms.queued",
    "sms.sent",
    "sms.delivered",
    "sms.undelivered",
    "sms.failed",
    "sms.received",
)


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "sms",
            "twilio",
            f"{_M}.provider:TwilioSmsProvider",
            f"{_M}.settings:TwilioSettings",
            features=_SENDING,
            env_vars=_ENV_VARS,
            webhook=_WEBHOOK,
            webhook_events=_EVENTS,
            description="Twilio Programmable Messaging; signed status callbacks and inbound SMS",
            docs_url="https://www.twilio.com/docs/messaging/api/message-resource",
        ),
        ProviderSpec(
            "sms",
            "twilio_verify",
            f"{_M}.verify:TwilioVerifyProvider",
            f"{_M}.settings:TwilioSettings",
            features=_SENDING | {"verification"},
            env_vars={**_ENV_VARS, "verify_service_sid": "TWILIO_VERIFY_SERVICE_SID"},
            # Status callbacks of messages it sends, at /webhooks/twilio_verify.
            webhook=_WEBHOOK,
            webhook_events=_EVENTS,
            description="Twilio Verify v2 phone verification (sms, call, whatsapp); sends "
            "ordinary messages through Programmable Messaging",
            docs_url="https://www.twilio.com/docs/verify/api",
        ),
    ]
