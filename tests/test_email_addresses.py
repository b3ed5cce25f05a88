"""Address validation: the fast path for everyday addresses agrees with email-validator.

The hub skips email-validator (~45 µs per new address) for plain ASCII ``local@host.tld``;
these tests hold it to email-validator's verdict and normalized form on generated addresses,
weighted towards the edges (dots, hyphens, case, special-use names, punycode, lengths).
"""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from hub import Address, EmailMessage, InvalidRequest
from hub.capabilities._models import parse_input
from hub.capabilities.email import _plain_normalized

ATEXT = "abcXYZ09!#$%&'*+/=?^_`{|}~-"
local_parts = st.text(alphabet=ATEXT + ".", min_size=1, max_size=70)
labels = st.one_of(
    st.text(alphabet="abcdeXYZ019-", min_size=1, max_size=65),
    st.sampled_from(["xn--bcher-kva", "test", "local", "localhost", "invalid", "onion", "arpa"]),
)
domains = st.lists(labels, min_size=1, max_size=4).map(".".join)


def email_validator_says(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@settings(max_examples=4000, deadline=None)
@given(local=local_parts, domain=domains)
def test_the_fast_path_never_disagrees_with_email_validator(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    fast = _plain_normalized(address)
    if fast is not None:  # it answered: email-validator must accept, with the same form
        assert email_validator_says(address) == fast


@pytest.mark.parametrize(
    ("given_address", "normalized"),
    [
        ("ada@example.com", "ada@example.com"),
        ("Ada.Lovelace@Example.COM", "Ada.Lovelace@example.com"),
        ("o'brien+news@mail.example.org", "o'brien+news@mail.example.org"),
    ],
)
def test_everyday_addresses_take_the_fast_path(given_address: str, normalized: str) -> None:
    assert _plain_normalized(given_address) == normalized
    assert Address.model_validate(given_address).email == normalized


@pytest.mark.parametrize(
    "unusual",
    [
        "ada@bücher.example",  # IDN: email-validator normalizes it
        "ada@xn--bcher-kva.example",
        '"ada lovelace"@example.com',
        "ada@printer.local",  # special-use name: refused by email-validator
        "ada@example.test",
        "a" * 65 + "@example.com",
        "ada..b@example.com",
    ],
)
def test_unusual_addresses_go_to_email_validator(unusual: str) -> None:
    assert _plain_normalized(unusual) is None


@pytest.mark.parametrize(
    ("address", "why"),
    [("ada@example.test", "special-use or reserved name"), ("ada..b@x.com", "two periods")],
)
def test_a_refused_address_says_why(address: str, why: str) -> None:
    message = {"to": address, "subject": "s", "text": "t"}
    with pytest.raises(InvalidRequest, match=rf"to\.0\.email: .*{why}") as caught:
        parse_input(EmailMessage, message, what="email message")
    assert caught.value.field == "to.0.email"


def test_a_display_name_is_still_parsed() -> None:
    address = Address.model_validate("Ada Lovelace <Ada@Example.com>")
    assert (address.name, address.email) == ("Ada Lovelace", "Ada@example.com")
