"""Money: an amount in whole minor units of an ISO 4217 currency, never a float.

Vendors count money in minor units (cents, yen, fils); so does the hub, because a float cannot
hold 0.10 exactly. The currency list is ISO 4217 list one (as published 2026-01-01), without the
codes that have no minor unit (precious metals, bond-market units, XDR, XSU, XUA, XTS, XXX).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from hub.errors import InvalidRequest

__all__ = ["CURRENCY_EXPONENTS", "Money", "format_minor_units", "minor_units"]


def _codes(text: str) -> list[str]:
    return text.split()


#: Active ISO 4217 codes -> minor-unit exponent (EUR 2: 1999 is 19.99; JPY 0; KWD 3).
CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        _codes(
            "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN "
            "BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
            "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW "
            "KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR "
            "MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG "
            "SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD "
            "USN UYU UZS VED VES WST XAD XCD XCG YER ZAR ZMW ZWG"
        ),
        2,
    ),
    **dict.fromkeys(
        _codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"), 0
    ),
    **dict.fromkeys(_codes("BHD IQD JOD KWD LYD OMR TND"), 3),
    **dict.fromkeys(_codes("CLF UYW"), 4),
}

_AMOUNT_HINT = (
    "amount must be a positive whole number of minor units, e.g. Money(1999, 'EUR') for €19.99"
)


def format_minor_units(amount: int, currency: str) -> str:
    """``1999, "EUR"`` -> ``"19.99 EUR"``; ``500, "JPY"`` -> ``"500 JPY"``. Zero is allowed here."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    number = f"{whole}.{fraction:0{exponent}d}" if exponent else str(whole)
    return f"{sign}{number} {currency}"


def minor_units(value: Decimal | str | int, currency: str) -> int:
    """A decimal amount as whole minor units of ``currency``: ``"19.99", "EUR"`` -> 1999.

    Zero and negative amounts pass (a vendor's "0.00 refunded", a balance); more decimals
    than the currency has, or no finite number at all, is an InvalidRequest. :class:`Money`
    itself holds only positive amounts.
    """
    code = currency.strip().upper() if isinstance(currency, str) else currency
    exponent = CURRENCY_EXPONENTS.get(code, 2)
    if isinstance(value, bool | float):
        raise InvalidRequest(
            f"{value!r} is a {type(value).__name__}; pass the amount as a string or Decimal "
            "like '19.99' (a float cannot hold 0.10 exactly)",
            field="amount",
        )
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        number = Decimal("NaN")
    if not number.is_finite():
        raise InvalidRequest(f"{value!r} is not a decimal amount like '19.99'", field="amount")
    scaled = number.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise InvalidRequest(
            f"{value} has more decimals than {code} allows ({exponent})", field="amount"
        )
    return int(scaled)


class Money(BaseModel):
    """A positive amount in minor units: ``Money(1999, "EUR")`` is €19.99, ``Money(500, "JPY")``
    is ¥500."""

    model_config = ConfigDict(frozen=True)

    amount: int
    currency: str

    def __init__(self, amount: int, currency: str) -> None:
        try:
            super().__init__(amount=amount, currency=currency)
        except ValidationError as exc:
            raise InvalidRequest(
                "; ".join(str(error["msg"]) for error in exc.errors()),
                field=".".join(str(part) for part in exc.errors()[0]["loc"]) or None,
            ) from None

    @field_validator("amount", mode="before")
    @classmethod
    def _positive_whole(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise PydanticCustomError("money_amount", _AMOUNT_HINT)
        return value

    @field_validator("currency", mode="before")
    @classmethod
    def _iso_4217(cls, value: Any) -> str:
        code = value.strip().upper() if isinstance(value, str) else ""
        if code not in CURRENCY_EXPONENTS:
            raise PydanticCustomError(
                "money_currency",
                "unknown currency {value}: use an active ISO 4217 code such as 'EUR' or 'USD'",
                {"value": repr(value)},
            )
        return code

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: str) -> Money:
        """``Money.from_decimal("19.99", "EUR")``; refuses more decimals than the currency has."""
        return cls(minor_units(value, currency), currency)

    @property
    def exponent(self) -> int:
        """Digits after the decimal point in this currency (EUR 2, JPY 0, KWD 3)."""
        return CURRENCY_EXPONENTS[self.currency]

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-self.exponent)

    def __str__(self) -> str:
        return format_minor_units(self.amount, self.currency)

    def __repr__(self) -> str:
        return f"Money({self.amount}, {self.currency!r})"
