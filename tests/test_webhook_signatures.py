"""Tests for hub.webhooks.signatures: published vendor vectors first, then every way to fail."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.errors import ConfigurationError, WebhookError
from hub.webhooks.signatures import (
    check_timestamp,
    hmac_signature,
    required_header,
    sign_basic_auth,
    sign_ecdsa,
    sign_sendgrid,
    sign_standard_webhook,
    sign_stripe,
    sign_twilio,
    twilio_signature,
    verify_basic_auth,
    verify_ecdsa,
    verify_hmac,
    verify_sendgrid,
    verify_standard_webhook,
    verify_stripe,
    verify_twilio,
)

NOW = 1_700_000_000
BODY = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
SECRET = "whsec_stripe_test_secret"
OTHER = "whsec_some_other_secret"


def _public_b64(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY = _public_b64(PRIVATE_KEY)
OTHER_PUBLIC_KEY = _public_b64(OTHER_PRIVATE_KEY)


# --- check_timestamp --------------------------------------------------------------------------


def test_timestamp_within_tolerance_is_returned() -> None:
    assert check_timestamp(str(NOW - 299), now=NOW) == NOW - 299
    assert check_timestamp(NOW + 299, now=NOW) == NOW + 299
    assert check_timestamp(str(NOW - 30), tolerance=timedelta(minutes=1), now=NOW) == NOW - 30


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        (str(NOW - 301), "stale"),
        (str(NOW + 301), "future"),
        ("", "malformed"),
        ("12.5", "malformed"),
        ("-5", "malformed"),
        ("1_700_000_000", "malformed"),
        ("\u0661\u0667\u0660\u0660", "not ASCII"),  # Arabic-Indic digits: int() accepts them
        ("9" * 400, "malformed"),
    ],
)
def test_bad_timestamps_are_refused(timestamp: str, message: str) -> None:
    with pytest.raises(WebhookError, match=message):
        check_timestamp(timestamp, now=NOW)


def test_timestamp_uses_the_clock_by_default() -> None:
    with pytest.raises(WebhookError, match="stale"):
        check_timestamp("1000")


def test_negative_tolerance_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        check_timestamp(NOW, tolerance=-1, now=NOW)


# --- plain HMAC -------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_hmac_signature_matches_the_standard_library(algorithm: str) -> None:
    digest = hmac.new(b"key", b"message", algorithm).digest()
    assert hmac_signature("key", "message", algorithm=algorithm) == digest.hex()  # type: ignore[arg-type]
    assert hmac_signature(b"key", b"message", algorithm=algorithm, encoding="base64") == (  # type: ignore[arg-type]
        base64.b64encode(digest).decode()
    )


def test_verify_hmac_accepts_any_active_secret() -> None:
    signature = hmac_signature("new", "1700000000token", encoding="base64")
    verify_hmac("1700000000token", signature, secrets=["old", "new"], encoding="base64")


@pytest.mark.parametrize(
    ("message", "signature", "secrets", "error"),
    [
        ("tampered", hmac_signature("s", "original"), ["s"], "mismatch"),
        ("original", hmac_signature("s", "original"), ["wrong"], "mismatch"),
        ("original", hmac_signature("s", "original").upper() + "é", ["s"], "ASCII"),
        ("original", "", ["s"], "missing"),
    ],
)
def test_verify_hmac_refuses(message: str, signature: str, secrets: list[str], error: str) -> None:
    with pytest.raises(WebhookError, match=error):
        verify_hmac(message, signature, secrets=secrets)


def test_verify_hmac_refuses_a_sha1_signature_when_sha256_is_expected() -> None:
    with pytest.raises(WebhookError, match="mismatch"):
        verify_hmac("m", hmac_signature("s", "m", algorithm="sha1"), secrets=["s"])


@pytest.mark.parametrize("secrets", [[], [""], ["ok", b""]])
def test_missing_secrets_are_a_configuration_error(secrets: list[str | bytes]) -> None:
    with pytest.raises(ConfigurationError, match="secret"):
        verify_hmac("m", "00", secrets=secrets)


def test_a_lone_string_is_one_secret_not_a_list_of_characters() -> None:
    verify_hmac("m", hmac_signature("abc", "m"), secrets="abc")
    with pytest.raises(WebhookError):
        verify_hmac("m", hmac_signature("a", "m"), secrets="abc")


def test_unknown_algorithm_or_encoding_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        hmac_signature("s", "m", algorithm="md5")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        hmac_signature("s", "m", encoding="base32")  # type: ignore[arg-type]


# --- Stripe -----------------------------------------------------------------------------------


def _stripe_header(timestamp: int, *signatures: str) -> dict[str, str]:
    return {"Stripe-Signature": ",".join([f"t={timestamp}", *signatures])}


def test_stripe_signature_is_hmac_sha256_hex_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign_stripe(BODY, secret=SECRET, timestamp=NOW) == {
        "Stripe-Signature": f"t={NOW},v1={expected}"
    }


def test_stripe_accepts_a_valid_signature_and_text_bodies() -> None:
    verify_stripe(sign_stripe(BODY, secret=SECRET, timestamp=NOW), BODY, secrets=[SECRET], now=NOW)
    verify_stripe(
        sign_stripe(BODY, secret=SECRET, timestamp=NOW), BODY.decode(), secrets=[SECRET], now=NOW
    )


def test_stripe_header_lookup_is_case_insensitive() -> None:
    value = sign_stripe(BODY, secret=SECRET, timestamp=NOW)["Stripe-Signature"]
    verify_stripe({"stripe-signature": value}, BODY, secrets=[SECRET], now=NOW)
    verify_stripe(httpx.Headers({"STRIPE-SIGNATURE": value}), BODY, secrets=[SECRET], now=NOW)


def test_stripe_rotation_on_either_side() -> None:
    good = hmac_signature(SECRET, f"{NOW}.".encode() + BODY)
    old = hmac_signature(OTHER, f"{NOW}.".encode() + BODY)
    # Stripe sends one v1 per active secret while one is being rolled; v0 is ignored.
    headers = _stripe_header(NOW, f"v1={old}", f"v1={good}", "v0=deadbeef")
    verify_stripe(headers, BODY, secrets=[SECRET], now=NOW)
    # The receiver may hold the old and the new secret.
    verify_stripe(_stripe_header(NOW, f"v1={good}"), BODY, secrets=[OTHER, SECRET], now=NOW)


@pytest.mark.parametrize(
    ("headers", "body", "secrets", "now", "error"),
    [
        (sign_stripe(BODY, secret=SECRET, timestamp=NOW), BODY + b" ", [SECRET], NOW, "mismatch"),
        (sign_stripe(BODY, secret=SECRET, timestamp=NOW), BODY, [OTHER], NOW, "mismatch"),
        (sign_stripe(BODY, secret=SECRET, timestamp=NOW - 400), BODY, [SECRET], NOW, "stale"),
        (sign_stripe(BODY, secret=SECRET, timestamp=NOW + 400), BODY, [SECRET], NOW, "future"),
        ({}, BODY, [SECRET], NOW, "missing Stripe-Signature"),
        ({"Stripe-Signature": "  "}, BODY, [SECRET], NOW, "missing"),
        ({"Stripe-Signature": "garbage"}, BODY, [SECRET], NOW, "malformed"),
        (_stripe_header(NOW), BODY, [SECRET], NOW, "no v1"),
        (_stripe_header(NOW, "v0=abc"), BODY, [SECRET], NOW, "no v1"),
        ({"Stripe-Signature": "v1=abc"}, BODY, [SECRET], NOW, "timestamp"),
        (_stripe_header(NOW, f"t={NOW}", "v1=abc"), BODY, [SECRET], NOW, "exactly one"),
        ({"Stripe-Signature": "t=é,v1=abc"}, BODY, [SECRET], NOW, "ASCII"),
    ],
)
def test_stripe_refuses(
    headers: dict[str, str], body: bytes, secrets: list[str], now: int, error: str
) -> None:
    with pytest.raises(WebhookError, match=error):
        verify_stripe(headers, body, secrets=secrets, now=now)


def test_stripe_signed_garbage_timestamp_is_malformed_not_a_crash() -> None:
    signature = hmac_signature(SECRET, b"soon." + BODY)
    with pytest.raises(WebhookError, match="malformed timestamp"):
        verify_stripe({"Stripe-Signature": f"t=soon,v1={signature}"}, BODY, secrets=[SECRET])


def test_error_messages_never_carry_the_secret_or_expected_signature() -> None:
    expected = hmac_signature(SECRET, f"{NOW}.".encode() + BODY)
    with pytest.raises(WebhookError) as caught:
        verify_stripe(_stripe_header(NOW, "v1=00"), BODY, secrets=[SECRET], now=NOW)
    assert SECRET not in str(caught.value)
    assert expected not in str(caught.value)


# --- Standard Webhooks ------------------------------------------------------------------------

# The test vector of the Standard Webhooks specification and its reference libraries.
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_BODY = '{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _sw_headers(signature: str = SW_SIGNATURE, **overrides: str) -> dict[str, str]:
    headers = {
        "webhook-id": SW_ID,
        "webhook-timestamp": str(SW_TIMESTAMP),
        "webhook-signature": signature,
    }
    headers.update(overrides)
    return headers


def test_standard_webhooks_spec_vector() -> None:
    assert (
        sign_standard_webhook(SW_BODY, secret=SW_SECRET, msg_id=SW_ID, timestamp=SW_TIMESTAMP)
        == _sw_headers()
    )
    verify_standard_webhook(_sw_headers(), SW_BODY, secrets=[SW_SECRET], now=SW_TIMESTAMP)


def test_standard_webhooks_secret_forms() -> None:
    raw = base64.b64decode(SW_SECRET.removeprefix("whsec_"))
    for secret in (SW_SECRET.removeprefix("whsec_"), raw):
        verify_standard_webhook(_sw_headers(), SW_BODY, secrets=[secret], now=SW_TIMESTAMP)


def test_standard_webhooks_rotation_and_several_signatures() -> None:
    other = sign_standard_webhook(
        SW_BODY, secret=b"another key", msg_id=SW_ID, timestamp=SW_TIMESTAMP
    )["webhook-signature"]
    listed = f"v1a,ZWQyNTUxOQ== {other} {SW_SIGNATURE}"
    verify_standard_webhook(_sw_headers(listed), SW_BODY, secrets=[SW_SECRET], now=SW_TIMESTAMP)
    verify_standard_webhook(
        _sw_headers(), SW_BODY, secrets=[b"another key", SW_SECRET], now=SW_TIMESTAMP
    )
    verify_standard_webhook(
        {k.upper(): v for k, v in _sw_headers().items()},
        SW_BODY,
        secrets=[SW_SECRET],
        now=SW_TIMESTAMP,
    )


@pytest.mark.parametrize(
    ("headers", "body", "now", "error"),
    [
        (_sw_headers(), SW_BODY + " ", SW_TIMESTAMP, "mismatch"),
        (_sw_headers(**{"webhook-id": "msg_other"}), SW_BODY, SW_TIMESTAMP, "mismatch"),
        (_sw_headers(), SW_BODY, SW_TIMESTAMP + 301, "stale"),
        (_sw_headers(), SW_BODY, SW_TIMESTAMP - 301, "future"),
        (_sw_headers("v1a,abc v2,def"), SW_BODY, SW_TIMESTAMP, "no v1"),
        (_sw_headers("v1,"), SW_BODY, SW_TIMESTAMP, "no v1"),
        (_sw_headers("nonsense"), SW_BODY, SW_TIMESTAMP, "no v1"),
        (_sw_headers(**{"webhook-timestamp": "yesterday"}), SW_BODY, SW_TIMESTAMP, "mismatch"),
        (
            {"webhook-id": SW_ID, "webhook-signature": SW_SIGNATURE},
            SW_BODY,
            SW_TIMESTAMP,
            "missing",
        ),
        ({"webhook-id": SW_ID, "webhook-timestamp": "1"}, SW_BODY, SW_TIMESTAMP, "missing"),
        ({"webhook-timestamp": "1", "webhook-signature": "v1,a"}, SW_BODY, SW_TIMESTAMP, "missing"),
    ],
)
def test_standard_webhooks_refuses(
    headers: dict[str, str], body: str, now: int, error: str
) -> None:
    with pytest.raises(WebhookError, match=error):
        verify_standard_webhook(headers, body, secrets=[SW_SECRET], now=now)


def test_standard_webhooks_bad_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="whsec_"):
        verify_standard_webhook(_sw_headers(), SW_BODY, secrets=["whsec_not base64!"])


# --- ECDSA / SendGrid -------------------------------------------------------------------------

# The vector SendGrid's own libraries test against (sendgrid-python, -nodejs, -java, ...).
SG_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7"
    "yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
)
SG_WRONG_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8RE"
    "ntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
)
SG_SIGNATURE = (
    "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2"
    "j/0="
)
SG_TIMESTAMP = "1588788367"
SG_BODY = '{"category":"example_payload","event":"test_event","message_id":"message_id"}'
SG_HEADERS = {
    "X-Twilio-Email-Event-Webhook-Signature": SG_SIGNATURE,
    "X-Twilio-Email-Event-Webhook-Timestamp": SG_TIMESTAMP,
}


def test_sendgrid_published_vector() -> None:
    verify_sendgrid(SG_HEADERS, SG_BODY, public_keys=[SG_PUBLIC_KEY], now=int(SG_TIMESTAMP))
    with pytest.raises(WebhookError, match="mismatch"):
        verify_sendgrid(SG_HEADERS, SG_BODY, public_keys=[SG_WRONG_KEY], now=int(SG_TIMESTAMP))
    # Rotation: the old key and the new one are both configured.
    verify_sendgrid(
        SG_HEADERS, SG_BODY, public_keys=[SG_WRONG_KEY, SG_PUBLIC_KEY], now=int(SG_TIMESTAMP)
    )


def test_sendgrid_signing_helper_round_trips() -> None:
    headers = sign_sendgrid(BODY, private_key=PRIVATE_KEY, timestamp=NOW)
    verify_sendgrid(headers, BODY, public_keys=[PUBLIC_KEY], now=NOW)
    lowered = {k.lower(): v for k, v in headers.items()}
    verify_sendgrid(lowered, BODY.decode(), public_keys=[OTHER_PUBLIC_KEY, PUBLIC_KEY], now=NOW)


def test_ecdsa_accepts_der_bytes_keys() -> None:
    der = base64.b64decode(PUBLIC_KEY)
    verify_ecdsa(b"payload", sign_ecdsa(b"payload", private_key=PRIVATE_KEY), public_keys=[der])


@pytest.mark.parametrize(
    ("headers", "body", "now", "error"),
    [
        (sign_sendgrid(BODY, private_key=PRIVATE_KEY, timestamp=NOW), BODY + b"x", NOW, "mismatch"),
        (sign_sendgrid(BODY, private_key=OTHER_PRIVATE_KEY, timestamp=NOW), BODY, NOW, "mismatch"),
        (sign_sendgrid(BODY, private_key=PRIVATE_KEY, timestamp=NOW - 600), BODY, NOW, "stale"),
        (sign_sendgrid(BODY, private_key=PRIVATE_KEY, timestamp=NOW + 600), BODY, NOW, "future"),
        (
            {
                **sign_sendgrid(BODY, private_key=PRIVATE_KEY, timestamp=NOW),
                **{"X-Twilio-Email-Event-Webhook-Timestamp": str(NOW + 1)},
            },
            BODY,
            NOW,
            "mismatch",
        ),
        ({"X-Twilio-Email-Event-Webhook-Timestamp": str(NOW)}, BODY, NOW, "missing"),
        ({"X-Twilio-Email-Event-Webhook-Signature": SG_SIGNATURE}, BODY, NOW, "missing"),
        ({**SG_HEADERS, "X-Twilio-Email-Event-Webhook-Signature": "%%%"}, BODY, NOW, "base64"),
        ({**SG_HEADERS, "X-Twilio-Email-Event-Webhook-Signature": "AAAA"}, BODY, NOW, "mismatch"),
    ],
)
def test_sendgrid_refuses(headers: dict[str, str], body: bytes, now: int, error: str) -> None:
    with pytest.raises(WebhookError, match=error):
        verify_sendgrid(headers, body, public_keys=[PUBLIC_KEY], now=now)


@pytest.mark.parametrize(
    "key",
    [
        "not base64!",
        base64.b64encode(b"not DER").decode(),
        _public_b64(ec.generate_private_key(ec.SECP384R1())),
    ],
)
def test_unusable_public_keys_are_a_configuration_error(key: str) -> None:
    with pytest.raises(ConfigurationError):
        verify_sendgrid(SG_HEADERS, SG_BODY, public_keys=[key], now=int(SG_TIMESTAMP))


def test_no_public_keys_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        verify_ecdsa(b"p", SG_SIGNATURE, public_keys=[])


# --- Twilio -----------------------------------------------------------------------------------

TW_TOKEN = "12345"
TW_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TW_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


@pytest.mark.parametrize(
    ("number", "signature"),
    [
        # Twilio's "Webhooks security" worked example, older (+1234...) and current edition.
        ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        ("+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc="),
    ],
)
def test_twilio_documented_examples(number: str, signature: str) -> None:
    params = {**TW_PARAMS, "Caller": number, "From": number}
    assert twilio_signature(TW_URL, params, secret=TW_TOKEN) == signature
    headers = {"X-Twilio-Signature": signature}
    verify_twilio(headers, TW_URL, secrets=[TW_TOKEN], params=params)
    verify_twilio(headers, TW_URL, secrets=[TW_TOKEN], params=list(params.items())[::-1])
    verify_twilio(headers, TW_URL, secrets=["old token", TW_TOKEN], params=params)


class _MultiDict(Mapping[str, str]):
    """Stands in for Starlette's FormData: ``items()`` keeps one value, ``multi_items()`` all."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def __getitem__(self, key: str) -> str:
        return dict(self._pairs)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._pairs))

    def __len__(self) -> int:
        return len(dict(self._pairs))

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._pairs)


def test_twilio_repeated_params_sign_every_value_sorted() -> None:
    pairs = [("MediaUrl", "b"), ("Body", "hi"), ("MediaUrl", "a")]
    expected = hmac_signature(
        TW_TOKEN, TW_URL + "BodyhiMediaUrlaMediaUrlb", algorithm="sha1", encoding="base64"
    )
    assert twilio_signature(TW_URL, pairs, secret=TW_TOKEN) == expected
    verify_twilio(
        sign_twilio(TW_URL, pairs, secret=TW_TOKEN),
        TW_URL,
        secrets=[TW_TOKEN],
        params=_MultiDict(pairs),
    )


@pytest.mark.parametrize(
    ("signed_url", "seen_url"),
    [
        ("https://example.com:443/hook?a=1", "https://example.com/hook?a=1"),
        ("https://example.com/hook?a=1", "https://example.com:443/hook?a=1"),
        ("http://user@example.com/hook", "http://user@example.com:80/hook"),
        ("https://[::1]:443/hook", "https://[::1]/hook"),
        ("https://example.com/hook", "https://example.com:8443/hook"),
    ],
)
def test_twilio_tolerates_the_port_being_added_or_dropped(signed_url: str, seen_url: str) -> None:
    headers = sign_twilio(signed_url, TW_PARAMS, secret=TW_TOKEN)
    verify_twilio(headers, seen_url, secrets=[TW_TOKEN], params=TW_PARAMS)


def _json_url(body: bytes) -> str:
    return f"https://example.com/hook?bodySHA256={hashlib.sha256(body).hexdigest()}"


def test_twilio_json_body_is_proved_by_body_sha256() -> None:
    url = _json_url(BODY)
    headers = sign_twilio(url, secret=TW_TOKEN)
    verify_twilio(headers, url, secrets=[TW_TOKEN], body=BODY)
    verify_twilio(headers, url, secrets=[TW_TOKEN], body=BODY.decode())
    with pytest.raises(WebhookError, match="bodySHA256"):
        verify_twilio(headers, url, secrets=[TW_TOKEN], body=BODY + b" ")


@pytest.mark.parametrize(
    ("headers", "url", "params", "body", "error"),
    [
        (
            sign_twilio(TW_URL, TW_PARAMS, secret=TW_TOKEN),
            TW_URL,
            {**TW_PARAMS, "Digits": "9"},
            None,
            "mismatch",
        ),
        (sign_twilio(TW_URL, TW_PARAMS, secret="wrong"), TW_URL, TW_PARAMS, None, "mismatch"),
        (
            sign_twilio(TW_URL, TW_PARAMS, secret=TW_TOKEN),
            TW_URL + "&x=1",
            TW_PARAMS,
            None,
            "mismatch",
        ),
        (
            sign_twilio(TW_URL, TW_PARAMS, secret=TW_TOKEN),
            "http" + TW_URL[5:],
            TW_PARAMS,
            None,
            "mismatch",
        ),
        ({}, TW_URL, TW_PARAMS, None, "missing X-Twilio-Signature"),
        ({"X-Twilio-Signature": "ünïcode"}, TW_URL, TW_PARAMS, None, "ASCII"),
        (sign_twilio(TW_URL, secret=TW_TOKEN), TW_URL, (), BODY, "bodySHA256"),
        (
            sign_twilio(_json_url(BODY) + "&bodySHA256=0", secret=TW_TOKEN),
            _json_url(BODY) + "&bodySHA256=0",
            (),
            BODY,
            "exactly one",
        ),
        (
            sign_twilio("https://example.com:8443/hook", secret=TW_TOKEN),
            "https://example.com/hook",
            (),
            None,
            "mismatch",
        ),
        (sign_twilio(TW_URL, secret=TW_TOKEN), "https://example.com:port/", (), None, "URL"),
        (sign_twilio(TW_URL, secret=TW_TOKEN), "http://[::1/", (), None, "URL"),
    ],
)
def test_twilio_refuses(
    headers: dict[str, str],
    url: str,
    params: dict[str, str],
    body: bytes | None,
    error: str,
) -> None:
    with pytest.raises(WebhookError, match=error):
        verify_twilio(headers, url, secrets=[TW_TOKEN], params=params, body=body)


# --- HTTP Basic credentials -------------------------------------------------------------------

USER, PASSWORD, OLD_PASSWORD = "hooks", "correct-horse-battery", "old-staple"


def _basic(token: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(token).decode()}


def test_basic_auth_header_is_rfc7617() -> None:
    assert sign_basic_auth("Aladdin", "open sesame") == {
        "Authorization": "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="  # RFC 7617, section 2
    }


def test_basic_auth_accepts_the_credentials_and_every_rotating_password() -> None:
    for password in (PASSWORD, OLD_PASSWORD):
        verify_basic_auth(sign_basic_auth(USER, password), USER, [PASSWORD, OLD_PASSWORD])
    verify_basic_auth(sign_basic_auth(USER, PASSWORD), USER, PASSWORD)  # one password as a str
    lower_case = {"authorization": "basic " + _basic(b"hooks:p:w")["Authorization"][6:]}
    verify_basic_auth(lower_case, USER, ["p:w"])  # a password may hold ':'
    verify_basic_auth(sign_basic_auth("jos\u00e9", "pässword"), "jos\u00e9", ["pässword"])


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "missing Authorization"),
        ({"Authorization": "  "}, "missing Authorization"),
        (sign_basic_auth(USER, "wrong"), "credentials mismatch"),
        (sign_basic_auth("someone-else", PASSWORD), "credentials mismatch"),
        (sign_basic_auth(USER, PASSWORD + "x"), "credentials mismatch"),
        (sign_basic_auth(USER, PASSWORD[:-1]), "credentials mismatch"),
        (
            {"Authorization": "Bearer " + sign_basic_auth(USER, PASSWORD)["Authorization"][6:]},
            "expected HTTP Basic",
        ),
        ({"Authorization": "Basic not-base64!"}, "not base64"),
        (_basic(b"no-colon"), "no ':'"),
        ({"Authorization": "Basic \u00e9"}, "not ASCII"),
    ],
)
def test_basic_auth_refuses(headers: dict[str, str], error: str) -> None:
    with pytest.raises(WebhookError, match=error) as caught:
        verify_basic_auth(headers, USER, [PASSWORD, OLD_PASSWORD])
    assert PASSWORD not in str(caught.value)
    assert OLD_PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "headers",
    [
        httpx.Headers(
            [
                ("Authorization", _basic(b"x:y")["Authorization"]),
                *sign_basic_auth(USER, PASSWORD).items(),
            ]
        ),
        {"authorization": "Basic eDp5", **sign_basic_auth(USER, PASSWORD)},  # two spellings
    ],
    ids=["repeated", "two-spellings"],
)
def test_basic_auth_refuses_more_than_one_authorization_header(
    headers: Mapping[str, str],
) -> None:
    with pytest.raises(WebhookError, match="more than one Authorization header"):
        verify_basic_auth(headers, USER, [PASSWORD])


def test_basic_auth_reads_starlettes_repeated_headers() -> None:
    from starlette.datastructures import Headers

    genuine = sign_basic_auth(USER, PASSWORD)["Authorization"].encode()
    once = Headers(raw=[(b"authorization", genuine)])
    twice = Headers(raw=[(b"authorization", genuine), (b"authorization", b"Basic eDp5")])
    verify_basic_auth(once, USER, [PASSWORD])
    with pytest.raises(WebhookError, match="more than one"):
        verify_basic_auth(twice, USER, [PASSWORD])


@pytest.mark.parametrize(
    ("username", "passwords"), [("", [PASSWORD]), ("a:b", [PASSWORD]), (USER, []), (USER, [""])]
)
def test_unusable_basic_auth_settings_are_a_configuration_error(
    username: str, passwords: list[str]
) -> None:
    with pytest.raises(ConfigurationError):
        verify_basic_auth(sign_basic_auth(USER, PASSWORD), username, passwords)


def test_every_password_is_compared_whatever_the_first_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    verify_basic_auth(sign_basic_auth(USER, PASSWORD), USER, [PASSWORD, OLD_PASSWORD, "third"])
    assert len(compared) == 4  # the user name and all three passwords, though the first matched
    assert PASSWORD.encode() not in compared  # digests are compared, not the secrets' lengths


def test_required_header_is_case_insensitive_and_strict() -> None:
    assert required_header({"x-vendor-id": " abc "}, "X-Vendor-Id") == "abc"
    for headers in ({}, {"X-Vendor-Id": ""}, {"X-Vendor-Id": "\u00e9"}):
        with pytest.raises(WebhookError, match="X-Vendor-Id"):
            required_header(headers, "X-Vendor-Id")


# --- nothing but WebhookError comes out -------------------------------------------------------

HEADER_NAMES = [
    "Stripe-Signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "X-Twilio-Email-Event-Webhook-Signature",
    "X-Twilio-Email-Event-Webhook-Timestamp",
    "X-Twilio-Signature",
    "Authorization",
]
header_values = st.one_of(
    st.text(),
    st.integers().map(str),
    st.builds(lambda t, s: f"t={t},v1={s}", st.text(), st.text()),
    st.builds(lambda s: f"v1,{s}", st.text()),
    st.binary(max_size=80).map(lambda b: base64.b64encode(b).decode()),
    st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode()),
)
header_names = st.one_of(
    st.sampled_from(HEADER_NAMES), st.sampled_from(HEADER_NAMES).map(str.lower), st.text()
)
bodies = st.one_of(st.binary(), st.text())


def _check(timestamp: str) -> None:
    check_timestamp(timestamp, now=NOW)


VERIFIERS: list[Callable[[dict[str, str], bytes | str, str, list[tuple[str, str]]], None]] = [
    lambda h, b, url, p: verify_stripe(h, b, secrets=[SECRET], now=NOW),
    lambda h, b, url, p: verify_standard_webhook(h, b, secrets=[SW_SECRET], now=NOW),
    lambda h, b, url, p: verify_sendgrid(h, b, public_keys=[PUBLIC_KEY], now=NOW),
    lambda h, b, url, p: verify_twilio(h, url, secrets=[TW_TOKEN], params=p),
    lambda h, b, url, p: verify_twilio(h, url, secrets=[TW_TOKEN], body=b),
    lambda h, b, url, p: verify_hmac(b, h.get("Stripe-Signature", ""), secrets=[SECRET]),
    lambda h, b, url, p: verify_ecdsa(b, h.get("X-Twilio-Signature", ""), public_keys=[PUBLIC_KEY]),
    lambda h, b, url, p: _check(h.get("webhook-timestamp", "")),
    lambda h, b, url, p: verify_basic_auth(h, USER, [PASSWORD]),
]


@settings(max_examples=300, deadline=None)
@given(
    headers=st.dictionaries(header_names, header_values, max_size=8),
    body=bodies,
    url=st.one_of(st.text(), st.builds(lambda q: f"https://example.com/h?{q}", st.text())),
    params=st.lists(st.tuples(st.text(), st.text()), max_size=5),
)
def test_malformed_input_only_ever_raises_webhook_error(
    headers: dict[str, str], body: bytes | str, url: str, params: list[tuple[str, str]]
) -> None:
    for verify in VERIFIERS:
        with contextlib.suppress(WebhookError):
            verify(headers, body, url, params)
