"""The PayPal provider: requests as PayPal documents them, the token, declines and errors."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest
from hub_paypal.mapping import _ISSUES, _PROCESSOR_CODES, amount_of
from hub_paypal.provider import PayPalProvider
from pytest_httpx import HTTPXMock

from hub import (
    AuthenticationError,
    ConfigurationError,
    Hub,
    InvalidRequest,
    Money,
    NotFound,
    OutcomeUnknown,
    PaymentDeclined,
    PaymentStatus,
    ProviderError,
    RateLimited,
    Unavailable,
    UnsupportedFeature,
)
from hub.capabilities.payments import DECLINE_CODES
from hub.http import override_transport
from tests.plugins.paypal.stub import CLIENT_ID, CLIENT_SECRET, PayPalStub

SANDBOX = "https://api-m.sandbox.paypal.com"
NO_WAIT = {"wait_initial": 0, "wait_max": 0, "wait_jitter": 0}
ORDER = "5O190127TN364715T"
TOKEN = {
    "scope": "https://uri.paypal.com/services/payments/payment",
    "access_token": "A21AAFEpH4PsADK7qSS7pSRsgzfENtu-Q1ysgEDVDESseMHBYXVJYE8ovjj68elIDy8nF26A",
    "token_type": "Bearer",
    "app_id": "APP-80W284485P519543T",
    "expires_in": 31668,
    "nonce": "2020-04-03T15:35:36ZaYZlGvEkV4yVSz8g6bAKFoGSEzuy3CQcz3ljhibkOHg",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def paypal_hub(make_hub: Callable[..., Hub]) -> Callable[..., Hub]:
    """``paypal_hub(attempts=1, env="test", **paypal_settings)``."""

    def build(attempts: int = 1, env: str = "test", **settings: Any) -> Hub:
        return make_hub(
            env=env,
            payments={
                "providers": ["paypal"],
                "paypal": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **settings},
                "resilience": {"retry": {"attempts": attempts, **NO_WAIT}},
            },
        )

    return build


@pytest.fixture
async def stub(anyio_backend: object) -> AsyncIterator[PayPalStub]:
    """Every request goes to a fresh stub (an async fixture: the override is task-local)."""
    paypal = PayPalStub()
    with override_transport(httpx.MockTransport(paypal.handle)):
        yield paypal


def order(status: str = "COMPLETED", intent: str = "CAPTURE", **payments: Any) -> dict[str, Any]:
    """An order as https://developer.paypal.com/docs/api/orders/v2/ documents it."""
    return {
        "id": ORDER,
        "intent": intent,
        "status": status,
        "purchase_units": [
            {
                "reference_id": "default",
                "amount": {"currency_code": "EUR", "value": "50.00"},
                "payments": payments,
            }
        ],
        "links": [
            {"href": f"{SANDBOX}/v2/checkout/orders/{ORDER}", "rel": "self", "method": "GET"}
        ],
    }


def item(id_: str, status: str, value: str = "50.00", **extra: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "status": status,
        "amount": {"currency_code": "EUR", "value": value},
        **extra,
    }


def error(status: int, name: str, issue: str | None = None, **detail: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "message": "The requested action could not be performed, semantically incorrect, or "
        "failed business validation.",
        "debug_id": "90957fca61718",
        "links": [],
    }
    if issue:
        body["details"] = [{"issue": issue, "description": f"{issue} happened.", **detail}]
    return body


def token(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", url=f"{SANDBOX}/v1/oauth2/token", json=TOKEN)


# -- requests -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_charge_with_a_saved_card_is_one_order_completed_in_one_call(
    paypal_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    token(httpx_mock)
    completed = order(captures=[item("3C679366HH908993F", "COMPLETED", "19.99")])
    completed["purchase_units"][0].update(
        amount={"currency_code": "EUR", "value": "19.99"},
        description="Order 42",
        custom_id='{"order":"42"}',
    )
    completed["payment_source"] = {"card": {"vault_id": "8kk8451t", "last_digits": "1111"}}
    httpx_mock.add_response(method="POST", url=f"{SANDBOX}/v2/checkout/orders", json=completed)
    payment = await paypal_hub().payments.charge(
        Money(1999, "EUR"),
        payment_method="8kk8451t",
        description="Order 42",
        metadata={"order": "42"},
        idempotency_key="order-42-charge",
    )
    token_request, order_request = httpx_mock.get_requests()
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_request.headers["authorization"] == f"Basic {basic}"
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token_request.content == b"grant_type=client_credentials"
    assert order_request.headers["authorization"] == f"Bearer {TOKEN['access_token']}"
    assert order_request.headers["paypal-request-id"] == "order-42-charge"
    assert order_request.headers["prefer"] == "return=representation"
    assert json.loads(order_request.content) == {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "amount": {"currency_code": "EUR", "value": "19.99"},
                "description": "Order 42",
                "custom_id": '{"order":"42"}',
            }
        ],
        "payment_source": {"card": {"vault_id": "8kk8451t"}},
    }
    assert payment.status is PaymentStatus.CAPTURED
    assert payment.id == payment.provider_id == ORDER, "the hub's payment id is the order id"
    assert (payment.amount, payment.amount_captured, payment.currency) == (1999, 1999, "EUR")
    assert payment.metadata == {"order": "42"}
    assert payment.description == "Order 42"
    assert payment.payment_method == "card:8kk8451t"


@pytest.mark.anyio
async def test_authorize_only_and_the_source_prefix(
    paypal_hub: Callable[..., Hub], stub: PayPalStub
) -> None:
    payment = await paypal_hub().payments.charge(
        Money(5000, "EUR"), payment_method="paypal:B-9NL94576JW7584135", capture=False
    )
    sent = json.loads(stub.calls("POST", "/v2/checkout/orders")[0].content)
    assert sent["intent"] == "AUTHORIZE"
    assert sent["payment_source"] == {"paypal": {"vault_id": "B-9NL94576JW7584135"}}
    assert payment.status is PaymentStatus.AUTHORIZED
    assert payment.capture_method == "manual"
    assert payment.capturable == 5000


@pytest.mark.anyio
async def test_capture_void_and_refund_go_to_the_orders_authorization_and_capture(
    paypal_hub: Callable[..., Hub], stub: PayPalStub
) -> None:
    payments = paypal_hub().payments
    held = await payments.charge(Money(5000, "EUR"), payment_method="vault-visa", capture=False)
    auth_id = held.raw["purchase_units"][0]["payments"]["authorizations"][0]["id"]
    captured = await payments.capture(held.id, Money(3000, "EUR"), idempotency_key="cap-1")
    [capture_request] = stub.calls("POST", f"/v2/payments/authorizations/{auth_id}/capture")
    assert capture_request.headers["paypal-request-id"] == "cap-1"
    assert json.loads(capture_request.content) == {
        "final_capture": True,
        "amount": {"currency_code": "EUR", "value": "30.00"},
    }
    assert (captured.status, captured.amount_captured) == (PaymentStatus.CAPTURED, 3000)
    capture_id = captured.raw["purchase_units"][0]["payments"]["captures"][0]["id"]
    refund = await payments.refund(
        held.id, Money(1000, "EUR"), reason="damaged in transit", idempotency_key="ref-1"
    )
    [refund_request] = stub.calls("POST", f"/v2/payments/captures/{capture_id}/refund")
    assert refund_request.headers["paypal-request-id"] == "ref-1"
    assert json.loads(refund_request.content) == {
        "amount": {"currency_code": "EUR", "value": "10.00"},
        "note_to_payer": "damaged in transit",
    }
    assert (refund.amount, refund.payment_id, refund.reason) == (
        1000,
        held.id,
        "damaged in transit",
    )
    assert refund.payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert refund.payment.amount_refunded == 1000

    other = await payments.charge(Money(2500, "EUR"), payment_method="vault-visa", capture=False)
    canceled = await payments.cancel(other.id)
    other_auth = other.raw["purchase_units"][0]["payments"]["authorizations"][0]["id"]
    assert stub.calls("POST", f"/v2/payments/authorizations/{other_auth}/void")
    assert canceled.status is PaymentStatus.CANCELED


@pytest.mark.anyio
async def test_without_a_saved_method_the_buyer_approves_then_capture_completes(
    paypal_hub: Callable[..., Hub], stub: PayPalStub
) -> None:
    hub = paypal_hub(
        return_url="https://shop.example.com/ok", cancel_url="https://shop.example.com/no"
    )
    pending = await hub.payments.charge(Money(5000, "EUR"), capture=False)
    sent = json.loads(stub.calls("POST", "/v2/checkout/orders")[0].content)
    assert sent["payment_source"] == {
        "paypal": {
            "experience_context": {
                "return_url": "https://shop.example.com/ok",
                "cancel_url": "https://shop.example.com/no",
                "user_action": "PAY_NOW",
            }
        }
    }
    assert pending.status is PaymentStatus.REQUIRES_ACTION
    assert pending.next_action == {
        "type": "redirect_to_url",
        "redirect_to_url": {
            "url": f"https://www.sandbox.paypal.com/checkoutnow?token={pending.id}"
        },
    }
    with pytest.raises(InvalidRequest, match="voided"):
        await hub.payments.cancel(pending.id)  # nothing authorized yet
    stub.orders[pending.id]["status"] = "APPROVED"  # the buyer approved at PayPal
    approved = await hub.payments.get(pending.id)
    assert approved.status is PaymentStatus.AUTHORIZED
    captured = await hub.payments.capture(pending.id, Money(2000, "EUR"))
    assert stub.calls("POST", f"/v2/checkout/orders/{pending.id}/authorize")
    assert (captured.status, captured.amount_captured) == (PaymentStatus.CAPTURED, 2000)


@pytest.mark.anyio
async def test_a_saved_card_that_needs_3ds_returns_the_payer_action_link(
    paypal_hub: Callable[..., Hub], stub: PayPalStub
) -> None:
    payment = await paypal_hub().payments.charge(Money(4200, "EUR"), payment_method="vault-3ds")
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action is not None
    assert "authenticate" in payment.next_action["redirect_to_url"]["url"]


@pytest.mark.parametrize(
    ("env", "settings", "host"),
    [
        ("test", {}, "api-m.sandbox.paypal.com"),
        ("staging", {}, "api-m.sandbox.paypal.com"),
        ("production", {}, "api-m.paypal.com"),
        ("test", {"base_url": "http://127.0.0.1:9"}, "127.0.0.1"),
    ],
)
def test_the_api_root_follows_hub_env(
    paypal_hub: Callable[..., Hub], env: str, settings: dict[str, Any], host: str
) -> None:
    provider = paypal_hub(env=env, **settings).payments.get_provider("paypal")
    assert isinstance(provider, PayPalProvider)
    assert provider.client.base_url.host == host


def test_a_live_root_outside_production_is_refused(paypal_hub: Callable[..., Hub]) -> None:
    with pytest.raises(ConfigurationError, match="live key"):
        _ = paypal_hub(env="staging", base_url="https://api-m.paypal.com").payments
    with pytest.raises(ConfigurationError, match="test key"):
        _ = paypal_hub(env="production", base_url="https://api-m.sandbox.paypal.com").payments


def test_missing_credentials_say_which_variables(
    make_hub: Callable[..., Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYPAL_CLIENT_ID", raising=False)
    monkeypatch.delenv("PAYPAL_CLIENT_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="PAYPAL_CLIENT_SECRET"):
        _ = make_hub(payments={"providers": ["paypal"]}).payments


# -- what PayPal cannot express -----------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"description": "x" * 128}, "description"),
        ({"metadata": {f"key{i}": "v" * 10 for i in range(10)}}, "metadata"),
        ({"payment_method": "bitcoin:abc"}, "payment_method"),
        ({"amount": Money(1050, "HUF")}, "amount"),
    ],
)
async def test_what_paypal_cannot_express_is_refused_before_sending(
    paypal_hub: Callable[..., Hub], stub: PayPalStub, kwargs: dict[str, Any], field: str
) -> None:
    amount = kwargs.pop("amount", Money(1000, "EUR"))
    with pytest.raises(InvalidRequest) as caught:
        await paypal_hub().payments.charge(amount, **{"payment_method": "vault-visa", **kwargs})
    assert caught.value.field == field
    assert stub.requests == []


@pytest.mark.anyio
async def test_whole_forint_is_sent_without_decimals(
    paypal_hub: Callable[..., Hub], stub: PayPalStub
) -> None:
    await paypal_hub().payments.charge(Money(100000, "HUF"), payment_method="vault-visa")
    sent = json.loads(stub.calls("POST", "/v2/checkout/orders")[0].content)
    assert sent["purchase_units"][0]["amount"] == {"currency_code": "HUF", "value": "1000"}


@pytest.mark.anyio
async def test_customers_are_not_supported(
    paypal_hub: Callable[..., Hub], stub: PayPalStub
) -> None:
    payments = paypal_hub().payments
    with pytest.raises(UnsupportedFeature):
        await payments.create_customer(email="ada@example.com")
    with pytest.raises(UnsupportedFeature):
        await payments.charge(Money(100, "EUR"), customer="cus_1", payment_method="vault-visa")
    assert stub.requests == []


# -- idempotency --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_key_returns_the_first_order_and_refuses_another_request(
    paypal_hub: Callable[..., Hub], stub: PayPalStub
) -> None:
    payments = paypal_hub().payments
    first = await payments.charge(
        Money(1200, "EUR"), payment_method="vault-visa", idempotency_key="k1"
    )
    again = await payments.charge(
        Money(1200, "EUR"), payment_method="vault-visa", idempotency_key="k1"
    )
    assert again.id == first.id
    posts = stub.calls("POST", "/v2/checkout/orders")
    assert [r.headers["paypal-request-id"] for r in posts] == ["k1", "k1"]
    with pytest.raises(InvalidRequest) as caught:
        await payments.charge(Money(9900, "EUR"), payment_method="vault-visa", idempotency_key="k1")
    assert caught.value.field == "idempotency_key"
    assert len(stub.calls("POST", "/v2/checkout/orders")) == 2, "PayPal was not asked again"


@pytest.mark.anyio
async def test_a_request_refused_as_invalid_frees_its_key(
    paypal_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    token(httpx_mock)
    invalid = error(400, "INVALID_REQUEST", "INVALID_CURRENCY_CODE", field="/currency_code")
    httpx_mock.add_response(method="POST", status_code=400, json=invalid)
    httpx_mock.add_response(method="POST", json=order(captures=[item("3C6", "COMPLETED")]))
    payments = paypal_hub().payments
    with pytest.raises(InvalidRequest):
        await payments.charge(Money(5000, "USD"), payment_method="vault-visa", idempotency_key="k")
    fixed = await payments.charge(
        Money(5000, "EUR"), payment_method="vault-visa", idempotency_key="k"
    )
    assert fixed.status is PaymentStatus.CAPTURED


# -- the OAuth2 token ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_one_token_serves_every_call_and_concurrent_callers_share_one_fetch(
    paypal_hub: Callable[..., Hub],
) -> None:
    stub = PayPalStub()

    async def slow_token(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/oauth2/token":
            await anyio.sleep(0.05)  # every caller arrives while the first one fetches
        return stub.handle(request)

    def tokens_fetched() -> int:
        return len(stub.calls("POST", "/v1/oauth2/token"))

    with override_transport(httpx.MockTransport(slow_token)):
        payment = await paypal_hub().payments.charge(Money(700, "EUR"), payment_method="vault-visa")
        assert tokens_fetched() == 1
        payments = paypal_hub().payments  # another process, say: no token yet
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(payments.get, payment.id)
        assert tokens_fetched() == 2, "ten cold callers, one token request"
        stub.revoke_tokens()  # the token expired early at PayPal
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(payments.get, payment.id)
        assert tokens_fetched() == 3, "ten callers refused, one refresh"
        for _ in range(3):
            await payments.get(payment.id)
    assert tokens_fetched() == 3, "a valid token is reused, not fetched per call"


@pytest.mark.anyio
async def test_an_expired_token_is_fetched_again_once(
    paypal_hub: Callable[..., Hub], stub: PayPalStub
) -> None:
    payments = paypal_hub().payments
    payment = await payments.charge(Money(700, "EUR"), payment_method="vault-visa")
    stub.revoke_tokens()  # PayPal no longer accepts the cached token
    assert (await payments.get(payment.id)).status is PaymentStatus.CAPTURED
    assert len(stub.calls("POST", "/v1/oauth2/token")) == 2


@pytest.mark.anyio
async def test_a_token_refused_twice_is_an_authentication_error(
    paypal_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    refused = {
        "name": "AUTHENTICATION_FAILURE",
        "message": "Authentication failed due to invalid authentication credentials or a "
        "missing Authorization header.",
        "links": [],
    }
    httpx_mock.add_response(
        method="POST", url=f"{SANDBOX}/v1/oauth2/token", json=TOKEN, is_reusable=True
    )
    httpx_mock.add_response(method="GET", json=order(captures=[item("3C6", "COMPLETED")]))
    httpx_mock.add_response(method="GET", status_code=401, json=refused, is_reusable=True)
    payments = paypal_hub().payments
    await payments.get(ORDER)  # the token is cached now
    with pytest.raises(AuthenticationError):
        await payments.get(ORDER)
    methods = [(r.method, r.url.path) for r in httpx_mock.get_requests()]
    get = ("GET", f"/v2/checkout/orders/{ORDER}")
    token_request = ("POST", "/v1/oauth2/token")
    assert methods == [token_request, get, get, token_request, get]


@pytest.mark.anyio
async def test_bad_client_credentials_never_show_the_secret(
    paypal_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=401,
        json={
            "error": "invalid_client",
            "error_description": f"Client Authentication failed {CLIENT_SECRET}",
        },
    )
    with pytest.raises(AuthenticationError) as caught:
        await paypal_hub(attempts=3).payments.get(ORDER)
    assert "Client Authentication failed" in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)
    assert CLIENT_SECRET not in repr(caught.value.raw)
    assert caught.value.vendor_code == "invalid_client"
    assert len(httpx_mock.get_requests()) == 1


# -- errors -------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("issue", "normalized"),
    [
        ("INSTRUMENT_DECLINED", "card_declined"),
        ("TRANSACTION_REFUSED", "card_declined"),
        ("CARD_EXPIRED", "expired_card"),
        ("INSUFFICIENT_FUNDS", "insufficient_funds"),
        ("TRANSACTION_BLOCKED_BY_PAYEE", "fraudulent"),
        ("MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED", "limit_exceeded"),
    ],
)
async def test_instrument_issues_are_declines_never_retried(
    paypal_hub: Callable[..., Hub], httpx_mock: HTTPXMock, issue: str, normalized: str
) -> None:
    token(httpx_mock)
    httpx_mock.add_response(
        method="POST", status_code=422, json=error(422, "UNPROCESSABLE_ENTITY", issue)
    )
    with pytest.raises(PaymentDeclined) as caught:
        await paypal_hub(attempts=3).payments.charge(
            Money(1999, "EUR"), payment_method="vault-visa"
        )
    assert caught.value.decline_code == normalized
    assert caught.value.vendor_code == issue
    assert (caught.value.retryable, caught.value.failover_safe) == (False, False)
    assert "90957fca61718" in str(caught.value), "PayPal's debug_id helps its support"
    assert len(httpx_mock.get_requests()) == 2  # the token and one order


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("processor", "normalized"),
    [
        ("5120", "insufficient_funds"),
        ("5400", "expired_card"),
        ("00N7", "incorrect_cvc"),
        ("0500", "card_declined"),
    ],
)
async def test_a_declined_card_capture_is_a_decline_with_the_processor_code(
    paypal_hub: Callable[..., Hub], httpx_mock: HTTPXMock, processor: str, normalized: str
) -> None:
    token(httpx_mock)
    declined = item(
        "3C679366HH908993F", "DECLINED", processor_response={"response_code": processor}
    )
    httpx_mock.add_response(method="POST", json=order(captures=[declined]))
    with pytest.raises(PaymentDeclined) as caught:
        await paypal_hub(attempts=3).payments.charge(
            Money(5000, "EUR"), payment_method="vault-visa"
        )
    assert caught.value.decline_code == normalized
    assert caught.value.vendor_code == processor


def test_every_paypal_decline_maps_into_the_hubs_vocabulary() -> None:
    assert set(_ISSUES.values()) | set(_PROCESSOR_CODES.values()) <= set(DECLINE_CODES)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ({"currency_code": "EUR", "value": "0.00"}, (0, "EUR")),
        ({"currency_code": "EUR", "value": "0"}, (0, "EUR")),
        ({"currency_code": "usd", "value": "19.99"}, (1999, "USD")),
        ({"currency_code": "HUF", "value": "1500"}, (150000, "HUF")),
    ],
)
def test_paypal_amounts_are_read_as_minor_units_zero_included(
    amount: dict[str, str], expected: tuple[int, str]
) -> None:
    assert amount_of(amount) == expected


@pytest.mark.parametrize(
    "value",
    ["1.5", "12.345", "lots", "Infinity", "1" * 33],
    ids=["yen-fraction", "three-decimals", "not-a-number", "infinity", "too-long"],
)
def test_an_amount_paypal_should_not_send_is_its_fault_not_the_callers(value: str) -> None:
    currency = "JPY" if value == "1.5" else "EUR"
    with pytest.raises(ProviderError, match="paypal: expected") as caught:
        amount_of({"currency_code": currency, "value": value})
    assert not isinstance(caught.value, InvalidRequest)
    assert (caught.value.retryable, caught.value.failover_safe) == (False, False)


@pytest.mark.anyio
async def test_the_paypal_debug_id_header_is_kept_as_the_request_id(
    paypal_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    token(httpx_mock)
    httpx_mock.add_response(
        method="GET",
        status_code=500,
        json=error(500, "INTERNAL_SERVER_ERROR"),
        headers={"Paypal-Debug-Id": "f7c8b3a2e1d90"},
    )
    with pytest.raises(Unavailable) as caught:
        await paypal_hub().payments.get(ORDER)
    assert caught.value.raw["request_id"] == "f7c8b3a2e1d90"


@pytest.mark.anyio
async def test_invalid_requests_name_the_field(
    paypal_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    token(httpx_mock)
    httpx_mock.add_response(
        method="POST",
        status_code=400,
        json=error(
            400,
            "INVALID_REQUEST",
            "DECIMAL_PRECISION",
            field="/purchase_units/@reference_id=='default'/amount/value",
            location="body",
        ),
    )
    with pytest.raises(InvalidRequest) as caught:
        await paypal_hub().payments.charge(Money(5000, "EUR"), payment_method="vault-visa")
    assert caught.value.field == "value"
    assert caught.value.vendor_code == "DECIMAL_PRECISION"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (404, error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID"), {}, NotFound),
        (403, error(403, "NOT_AUTHORIZED", "PERMISSION_DENIED"), {}, AuthenticationError),
        (429, error(429, "RATE_LIMIT_REACHED"), {"Retry-After": "3"}, RateLimited),
        (500, error(500, "INTERNAL_SERVER_ERROR"), {}, Unavailable),
        (503, error(503, "SERVICE_UNAVAILABLE"), {}, Unavailable),
    ],
)
async def test_statuses_map_onto_the_error_tree(
    paypal_hub: Callable[..., Hub],
    httpx_mock: HTTPXMock,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
    expected: type[Exception],
) -> None:
    token(httpx_mock)
    httpx_mock.add_response(method="GET", status_code=status, json=body, headers=headers)
    with pytest.raises(expected) as caught:
        await paypal_hub().payments.get(ORDER)
    if expected is RateLimited:
        assert caught.value.retry_after == 3.0  # type: ignore[attr-defined]
    assert len(httpx_mock.get_requests()) == 2, "a 403 is not a stale token: no second fetch"


@pytest.mark.anyio
async def test_a_server_error_on_a_charge_is_retried_with_the_same_request_id(
    paypal_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    token(httpx_mock)
    httpx_mock.add_response(
        method="POST",
        url=f"{SANDBOX}/v2/checkout/orders",
        status_code=500,
        json=error(500, "INTERNAL_SERVER_ERROR"),
        is_reusable=True,
    )
    with pytest.raises(OutcomeUnknown) as caught:
        await paypal_hub(attempts=3).payments.charge(
            Money(5000, "EUR"), payment_method="vault-visa", idempotency_key="k-500"
        )
    assert caught.value.idempotency_key == "k-500"
    orders = [r for r in httpx_mock.get_requests() if r.url.path == "/v2/checkout/orders"]
    assert [r.headers["paypal-request-id"] for r in orders] == ["k-500"] * 3
