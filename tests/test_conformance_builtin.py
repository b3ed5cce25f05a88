"""The built-in ``local`` and ``fake`` providers pass every conformance suite."""

from __future__ import annotations

from typing import Any

import pytest

from hub.testing.conformance import (
    EmailConformance,
    PaymentsConformance,
    SearchConformance,
    SmsConformance,
    StorageConformance,
)
from hub.testing.conformance._corpus import build_corpus, load_corpus, relevance

pytest_plugins = ["pytester"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class TestFakeEmail(EmailConformance):
    provider = "fake"


class TestLocalEmail(EmailConformance):
    provider = "local"

    def provider_settings(self) -> dict[str, Any]:
        return {"announce": False}


class TestFakeSms(SmsConformance):
    provider = "fake"


class TestLocalSms(SmsConformance):
    provider = "local"

    def provider_settings(self) -> dict[str, Any]:
        return {"announce": False}


class TestFakeStorage(StorageConformance):
    provider = "fake"


class TestLocalStorage(StorageConformance):
    provider = "local"


class TestFakeSearch(SearchConformance):
    provider = "fake"


class TestLocalSearch(SearchConformance):
    provider = "local"


class TestFakePayments(PaymentsConformance):
    provider = "fake"


class TestLocalPayments(PaymentsConformance):
    provider = "local"


# -- the suites themselves ----------------------------------------------------------------------


def test_the_shipped_corpus_is_what_the_builder_makes() -> None:
    corpus = load_corpus()
    assert corpus == build_corpus()
    assert len(corpus) == 300
    assert len({doc["id"] for doc in corpus}) == 300
    cases = relevance(corpus)
    assert len({case.best_id for case in cases}) == len(cases) == 12


BROKEN = """
import pytest

from hub.plugins import ProviderSpec, Registry, default_registry
from hub.providers.fake.email import FakeEmailProvider
from hub.providers.fake.search import FakeSearchProvider
from hub.testing.conformance import EmailConformance, SearchConformance


class IndexOrderSearch(FakeSearchProvider):
    async def search(self, name, query, *, filters, limit, offset):
        results = await super().search(name, query, filters=filters, limit=1000, offset=0)
        hits = sorted(results.hits, key=lambda hit: hit.id)[offset : offset + limit]
        return results.model_copy(update={"hits": hits})


class AnonymousEmail(FakeEmailProvider):
    async def send(self, message, *, idempotency_key):
        receipt = await super().send(message, idempotency_key=idempotency_key)
        return receipt.model_copy(update={"provider_id": None})


def registry():
    base = default_registry()
    extra = {
        ("search", "broken"): ProviderSpec(
            "search", "broken", "test_inner:IndexOrderSearch",
            "hub.providers.fake._faults:FakeSettings", features=frozenset({"filters"})),
        ("email", "broken"): ProviderSpec(
            "email", "broken", "test_inner:AnonymousEmail",
            "hub.providers.fake._faults:FakeSettings"),
    }
    return Registry(dict(base.capabilities), {**base.providers, **extra})


class Broken:
    provider = "broken"

    def make_hub(self, tmp_path):
        from hub.core import Hub
        settings = {"env": "test", "data_dir": tmp_path,
                    self.capability: self.capability_settings()}
        return Hub.from_settings(registry=registry(), **settings)


class TestBrokenSearch(Broken, SearchConformance):
    pass


class TestBrokenEmail(Broken, EmailConformance):
    pass
"""


def test_the_suites_catch_a_broken_provider(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=BROKEN)
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.stdout.fnmatch_lines(
        [
            "*TestBrokenSearch::test_the_obviously_best_document_ranks_first*",
            "*TestBrokenEmail::test_send_returns_a_receipt_with_vendor_ids*",
        ]
    )
    assert "ranking is off" in result.stdout.str()
    assert "the receipt must carry the vendor's message id" in result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 5
    assert outcomes["passed"] >= 10  # what is not broken still passes
