"""How SMTP replies and aiosmtplib failures map onto the hub's error tree, stage by stage."""

from __future__ import annotations

import ssl

import aiosmtplib
import pytest
from hub_smtp.errors import Stage, map_exception, reply_error

from hub.errors import (
    AuthenticationError,
    HubError,
    InvalidRequest,
    ProviderError,
    RateLimited,
    Timeout,
    Unavailable,
)


@pytest.mark.parametrize(
    ("code", "text", "stage", "error", "retryable", "failover_safe"),
    [
        (421, "4.7.0 Too many messages, slow down", "mail", RateLimited, True, True),
        (450, "4.2.1 Mailbox busy", "rcpt", Unavailable, True, True),
        (451, "4.7.1 Rate limit exceeded", "mail", RateLimited, True, True),
        (452, "4.5.3 Too many recipients", "rcpt", Unavailable, True, True),
        (421, "4.3.2 Service not available", "connect", Unavailable, True, True),
        (535, "5.7.8 Authentication credentials invalid", "connect", AuthenticationError,
         False, True),
        (530, "5.7.0 Must issue a STARTTLS command first", "mail", AuthenticationError,
         False, True),
        (554, "5.7.1 No SMTP service here", "connect", ProviderError, False, True),
        (552, "5.3.4 Message size exceeds fixed limit", "data", InvalidRequest, False, False),
    ],
)  # fmt: skip
def test_replies(
    code: int,
    text: str,
    stage: Stage,
    error: type[HubError],
    retryable: bool,
    failover_safe: bool,
) -> None:
    got = reply_error("smtp", code, text, stage=stage)
    assert type(got) is error
    assert got.retryable is retryable
    assert got.failover_safe is failover_safe
    assert f"{code} {text}" in str(got)


@pytest.mark.parametrize(("stage", "field"), [("mail", "from"), ("rcpt", "to"), ("data", None)])
def test_a_permanent_refusal_names_the_field(stage: Stage, field: str | None) -> None:
    got = reply_error("smtp", 550, "5.7.1 Refused", stage=stage)
    assert isinstance(got, InvalidRequest)
    assert got.field == field
    assert got.vendor_code == "550"


def test_a_connection_lost_before_data_is_safe_to_retry_and_fail_over() -> None:
    lost = aiosmtplib.SMTPServerDisconnected("Connection lost")
    stages: tuple[Stage, ...] = ("connect", "mail", "rcpt")
    for stage in stages:
        got = map_exception("smtp", lost, stage=stage)
        assert isinstance(got, Unavailable)
        assert (got.retryable, got.failover_safe) == (True, True)


def test_a_connection_lost_during_data_may_have_delivered() -> None:
    got = map_exception("smtp", aiosmtplib.SMTPServerDisconnected("lost"), stage="data")
    assert isinstance(got, Unavailable)
    assert (got.retryable, got.failover_safe) == (False, False)
    assert "may have been delivered" in str(got)


def test_timeouts_depend_on_the_stage() -> None:
    early = map_exception("smtp", aiosmtplib.SMTPConnectTimeoutError("slow"), stage="connect")
    late = map_exception("smtp", aiosmtplib.SMTPReadTimeoutError("slow"), stage="data")
    assert isinstance(early, Timeout)
    assert (early.retryable, early.failover_safe) == (True, True)
    assert isinstance(late, Timeout)
    assert (late.retryable, late.failover_safe) == (False, False)


def test_a_tls_failure_says_how_to_fix_it() -> None:
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    wrapped = aiosmtplib.SMTPConnectError("Error connecting")
    wrapped.__cause__ = cause
    got = map_exception("smtp", wrapped, stage="connect")
    assert type(got) is ProviderError
    assert (got.retryable, got.failover_safe) == (False, True)
    assert "ca_file" in str(got)


def test_a_missing_extension_at_connect_is_a_settings_problem() -> None:
    got = map_exception(
        "smtp", aiosmtplib.SMTPException("SMTP AUTH extension not supported"), stage="connect"
    )
    assert type(got) is ProviderError
    assert "security" in str(got)


def test_all_recipients_refused_maps_the_first_refusal() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "5.1.1 User unknown", "a@example.com")]
    )
    got = map_exception("smtp", refused, stage="rcpt")
    assert isinstance(got, InvalidRequest)
    assert got.field == "to"
