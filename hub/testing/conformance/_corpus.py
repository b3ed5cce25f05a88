"""The search suite's relevance corpus: 300 small documents with queries whose answer is obvious.

Twelve topics each have one *best* document (the query's words in its short title and body,
several times) and six distractors (the words once each, or only the first word, in a long body
of filler). Everything else is filler. A ranker that weighs term frequency and document length
at all (BM25, TF-IDF, a vendor's own) puts the best document first; filters and pagination are
checked against the same documents.

The corpus ships as ``data/corpus.jsonl`` so a third-party suite reads exactly what ours does;
``python -m hub.testing.conformance._corpus`` regenerates it (the builder is deterministic, and
a test checks the shipped file matches it).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["CATEGORIES", "TOPICS", "RelevanceCase", "build_corpus", "load_corpus", "relevance"]

CATEGORIES = ("science", "cooking", "travel", "sport", "history", "music")
TAGS = ("featured", "archive", "review", "guide", "interview")
_SIZE = 300
_SEED = 20240601
_FILE = "corpus.jsonl"


@dataclass(frozen=True, slots=True)
class Topic:
    words: tuple[str, ...]
    title: str
    category: str


TOPICS = (
    Topic(("volcano", "eruption"), "Volcano eruption: how magma reaches the surface", "science"),
    Topic(("sourdough", "bread"), "Baking sourdough bread at home", "cooking"),
    Topic(("glacier", "retreat"), "Glacier retreat in the Alps", "science"),
    Topic(("marathon", "training"), "Marathon training for beginners", "sport"),
    Topic(("violin", "concerto"), "The violin concerto repertoire", "music"),
    Topic(("pyramid", "construction"), "Pyramid construction techniques", "history"),
    Topic(("coral", "reef"), "Coral reef ecosystems under pressure", "science"),
    Topic(("espresso", "machine"), "Choosing an espresso machine", "cooking"),
    Topic(("comet", "tail"), "Why a comet tail points away from the sun", "science"),
    Topic(("samurai", "armor"), "Samurai armor of the Edo period", "history"),
    Topic(("jazz", "improvisation"), "Jazz improvisation for the curious", "music"),
    Topic(("lighthouse", "keeper", "diary"), "The diary of a lighthouse keeper", "travel"),
)

_FILLER_TEXT = """
    account afternoon agreement answer autumn balance basket bicycle blanket border bottle
    bridge brother button camera candle canvas carpet castle ceiling chapter cherry circle
    cloud collar column cotton country cousin cupboard curtain cushion daughter desert doctor
    drawer engine evening feather fence field finger flower forest fountain friend garden
    harbor hammer handle harvest hobby holiday honey island jacket journey kettle kitchen
    ladder lantern leather letter library market meadow mirror morning needle notebook number
    ocean office orchard package painter paper parcel pencil pepper picnic pillow planet pocket
    pottery prairie puzzle quarter rabbit railway ribbon river saddle sailor scarf school
    season shadow shelf signal silver sister sketch slope spoon square station stone story
    street summer sweater table teacher thread ticket timber tower traffic tunnel umbrella
    valley village violet wagon walnut weather window winter wooden yellow
"""
_FILLER = _FILLER_TEXT.split()


def _sentence(rng: random.Random, words: int) -> list[str]:
    return [rng.choice(_FILLER) for _ in range(words)]


def _filler_title(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(3, 5))).capitalize()


def _filler_doc(rng: random.Random) -> dict[str, Any]:
    return {
        "title": _filler_title(rng),
        "body": " ".join(_sentence(rng, rng.randint(25, 45))) + ".",
        "category": rng.choice(CATEGORIES),
        "year": rng.randint(1950, 2024),
        "tags": sorted(rng.sample(TAGS, rng.randint(1, 2))),
    }


def _with_words(rng: random.Random, words: tuple[str, ...], length: int) -> str:
    """A long filler body with each of ``words`` once, at random places."""
    body = _sentence(rng, length)
    for word in words:
        body.insert(rng.randrange(len(body) + 1), word)
    return " ".join(body) + "."


def _topic_docs(rng: random.Random, topic: Topic) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    phrase = " ".join(topic.words)
    best = {
        "title": topic.title,
        "body": f"All about {phrase}: {' '.join(_sentence(rng, 6))} {phrase}, and again "
        f"{phrase} {' '.join(_sentence(rng, 4))}.",
        "category": topic.category,
        "year": rng.randint(1990, 2024),
        "tags": ["featured"],
    }
    distractors = []
    for number in range(6):
        words = topic.words if number < 4 else topic.words[:1]
        doc = _filler_doc(rng)
        doc["body"] = _with_words(rng, words, rng.randint(50, 70))
        distractors.append(doc)
    return best, distractors


def build_corpus() -> list[dict[str, Any]]:
    """The corpus, the same on every run: filler and distractors first, best documents last."""
    topic_words = {word for topic in TOPICS for word in topic.words}
    overlap = topic_words & set(_FILLER)
    assert not overlap, f"filler words collide with topic words: {overlap}"
    rng = random.Random(_SEED)
    bests, others = [], []
    for topic in TOPICS:
        best, distractors = _topic_docs(rng, topic)
        bests.append(best)
        others.extend(distractors)
    while len(others) + len(bests) < _SIZE:
        others.append(_filler_doc(rng))
    rng.shuffle(others)
    rng.shuffle(bests)
    # Best documents come last, so ranking them first cannot be an accident of indexing order.
    return [{"id": f"doc-{n:03d}", **doc} for n, doc in enumerate([*others, *bests], start=1)]


def load_corpus() -> list[dict[str, Any]]:
    """The shipped corpus (``data/corpus.jsonl``)."""
    text = (
        resources.files("hub.testing.conformance")
        .joinpath("data", _FILE)
        .read_text(encoding="utf-8")
    )
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass(frozen=True, slots=True)
class RelevanceCase:
    query: str
    best_id: str
    title: str


def relevance(corpus: list[dict[str, Any]]) -> list[RelevanceCase]:
    """One query per topic, with the id of the document that must rank first."""
    by_title = {doc["title"]: doc["id"] for doc in corpus}
    return [RelevanceCase(" ".join(t.words), by_title[t.title], t.title) for t in TOPICS]


def _write(path: Path) -> None:
    lines = [json.dumps(doc, ensure_ascii=False, sort_keys=True) for doc in build_corpus()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    _write(Path(__file__).with_name("data") / _FILE)
