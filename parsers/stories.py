"""Stories: different articles, in any language, about one event, grouped incrementally.

An article is described by what it is about (``ArticleFeatures``): the registered entities it
names (language-independent ids: the main cross-language signal), the kinds of event it reports
(``rules/events.toml``: summit / саммит / 峰会, ...), its topics and its key terms (compared only
with articles in the same language), and its date (publication, else first seen).

``StoryIndex.add`` compares an article with the stories dated near it that share one of its most
salient entities (an index keyed by entity and week, so each article sees a handful of candidates,
never all stories) and joins the best one whose similarity reaches the threshold, or starts a new
story. Two gates keep different events with the same actors apart: the main anchor events must
meet (a visit is not a summit), and the main places must meet (a summit in Samarkand is not one
in Astana). Time keeps the same event a year later apart: an article joins only a story dated
within ``window_days`` of it, and a story spans at most ``max_span_days``.

Deterministic: the same articles added in the same order give the same stories; callers add them
in (date, article id) order, so a batch interrupted and re-run gives what one run gives.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from silkwatch.parsers.entities import Mention, default_registry
from silkwatch.parsers.tokenize import terms

_HAS_DIGIT = re.compile(r"\d")
LEDE_CHARS = 600  # events named in the opening sentences say what the article reports
BODY_CHARS = 3_000  # news puts what matters first; reading further costs time and adds side issues


@dataclass(frozen=True)
class EventType:
    event_id: str
    anchor: bool
    phrases: tuple[tuple[str, ...], ...]  # each phrase as a term sequence


@dataclass(frozen=True)
class StoryRules:
    version: str
    window: timedelta
    max_span: timedelta
    threshold: float
    undated_threshold: float
    bucket_days: int
    max_postings: int
    lookup_entities: int
    key_terms: int
    title_weight: float
    common_terms: frozenset[str]
    weights: dict[str, float]
    kind_weights: dict[str, float]
    events: tuple[EventType, ...]
    phrases_by_first_term: dict[str, list[tuple[tuple[str, ...], str]]]  # one pass finds every phrase


def load_rules(raw: str) -> StoryRules:
    data = tomllib.loads(raw)
    c = data["clustering"]
    events = tuple(
        EventType(e["id"], bool(e["anchor"]), tuple(tuple(terms(p)) for p in e["phrases"] if terms(p)))
        for e in data["event"]
    )
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for event in events:
        for phrase in event.phrases:
            by_first.setdefault(phrase[0], []).append((phrase, event.event_id))
    return StoryRules(
        version=data["version"],
        window=timedelta(days=c["window_days"]),
        max_span=timedelta(days=c["max_span_days"]),
        threshold=float(c["threshold"]),
        undated_threshold=float(c["undated_threshold"]),
        bucket_days=int(c["bucket_days"]),
        max_postings=int(c["max_postings"]),
        lookup_entities=int(c["lookup_entities"]),
        key_terms=int(c["key_terms"]),
        title_weight=float(c["title_weight"]),
        common_terms=frozenset(t for word in c["common_terms"] for t in terms(word)),
        weights={k: float(v) for k, v in data["weights"].items()},
        kind_weights={k: float(v) for k, v in data["kind_weights"].items()},
        events=events,
        phrases_by_first_term=by_first,
    )


@cache
def default_rules() -> StoryRules:
    return load_rules(resources.files("silkwatch.parsers").joinpath("rules/events.toml").read_text("utf-8"))


@dataclass(frozen=True)
class ArticleFeatures:
    article_id: str
    when: datetime  # published_at, else first_seen_at
    language: str | None
    title: str
    entities: dict[str, float]  # entity id -> salience (title mentions weigh more)
    events: dict[str, float]  # event type -> salience
    topics: frozenset[str]
    key_terms: frozenset[str]
    dated: bool = True  # False: ``when`` is only the first-seen time, no evidence of when the event was


def _event_counts(field_terms: list[str], rules: StoryRules) -> Counter:
    found: Counter = Counter()
    for i, t in enumerate(field_terms):
        for phrase, event_id in rules.phrases_by_first_term.get(t, ()):
            if len(phrase) == 1 or tuple(field_terms[i : i + len(phrase)]) == phrase:
                found[event_id] += 1
    return found


def article_features(
    article_id: str,
    when: datetime,
    language: str | None,
    title: str,
    text: str,
    mentions: list[Mention] | list[tuple[str, str]],
    topics: frozenset[str] | set[str],
    rules: StoryRules | None = None,
    dated: bool = True,
    text_part: tuple[dict[str, float], frozenset[str]] | None = None,
) -> ArticleFeatures:
    """What an article is about. ``mentions``: its entity mentions (``Mention`` or (entity id, field));
    ``dated``: whether ``when`` is a publication date (else the time silkwatch first saw it);
    ``text_part``: ``text_features(title, text, rules)`` when already made (by the extraction workers)."""
    rules = rules or default_rules()
    entities: Counter = Counter()
    for m in mentions:
        entity_id, where = (m.entity_id, m.field) if isinstance(m, Mention) else m
        entities[entity_id] += rules.title_weight if where == "title" else 1.0
    events, key = text_features(title, text, rules) if text_part is None else text_part
    return ArticleFeatures(
        article_id, when, language, title or "", dict(entities), dict(events), frozenset(topics), frozenset(key), dated
    )


def text_features(title: str, text: str, rules: StoryRules | None = None) -> tuple[dict[str, float], frozenset[str]]:
    """The part of an article's features that depends only on its title and text: event types
    (with their salience) and key terms. The costly part: made once per copy, in the workers."""
    rules = rules or default_rules()
    title_terms, lede_terms = terms(title or ""), terms(text[:LEDE_CHARS])
    body_terms = terms(text[LEDE_CHARS:BODY_CHARS])
    events: Counter = Counter()
    for counts, weight in (
        (_event_counts(title_terms, rules), rules.title_weight),
        (_event_counts(lede_terms, rules), 1.0),
        (_event_counts(body_terms, rules), 0.25),  # a summit named in passing ("after the summit") weighs little
    ):
        for event_id, n in counts.items():
            events[event_id] += weight * n

    counted = Counter(body_terms)
    counted.update(lede_terms)
    for t in title_terms:
        counted[t] += rules.title_weight
    for t in [t for t in counted if len(t) < 4 or t in rules.common_terms or _HAS_DIGIT.search(t)]:
        del counted[t]
    key = frozenset(t for t, _ in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[: rules.key_terms])
    return dict(events), key


def _main(values: dict[str, float], share: float = 0.5) -> set[str]:
    """The keys holding at least ``share`` of the largest value."""
    if not values:
        return set()
    top = max(values.values())
    return {k for k, v in values.items() if v >= share * top}


CONFIDENT = 2.0  # salience of a title mention, or of two mentions in the text


def _conflict(art_main: set[str], art_keys: set[str], story_main: set[str], story_keys: set[str]) -> bool:
    """True when the article clearly names something (a place, a kind of event) the story never
    does, and the story's main one is absent from the article: a different event."""
    return bool(art_main and story_main) and not art_main & story_keys and not story_main & art_keys


@dataclass(frozen=True)
class _View:
    """What similarity compares, computed once per article and once per story version."""

    entities: dict[str, float]  # kind-weighted
    anchors: set[str]
    anchor_main: set[str]  # an article's only when confident
    places: set[str]
    place_main: set[str]


def _normalised(values: dict[str, float]) -> dict[str, float]:
    total = sum(values.values())
    return {k: v / total for k, v in values.items()} if total else {}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    if not dot:
        return 0.0
    return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


@dataclass
class Story:
    """A story's members and its running profile (sums of the members' normalised features)."""

    story_id: str
    first: datetime
    last: datetime
    size: int = 0
    entities: dict[str, float] = field(default_factory=dict)
    events: dict[str, float] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)
    terms: dict[str, dict[str, int]] = field(default_factory=dict)  # language -> term -> members using it
    label: tuple[str, str, str, float] = ("", "", "", -1.0)  # (article id, title, language, centrality)
    members: list[str] = field(default_factory=list)  # the ids added in this session (the rest are stored)

    def profile(self) -> dict:
        """The state a later batch needs to match against this story (stored as JSON)."""
        return {"size": self.size, "entities": self.entities, "events": self.events, "topics": self.topics,
                "terms": self.terms, "label": list(self.label)}  # fmt: skip

    @classmethod
    def from_profile(cls, story_id: str, first: datetime, last: datetime, profile: dict) -> Story:
        return cls(story_id, first, last, profile["size"], profile["entities"], profile["events"],
                   profile["topics"], profile["terms"], tuple(profile["label"]))  # fmt: skip


MAX_TERMS_PER_LANGUAGE = 60  # a story's vocabulary, per language: bounded so profiles stay small


class StoryIndex:
    """Stories and the (entity, week) index used to find an article's candidates."""

    def __init__(self, rules: StoryRules | None = None, kinds: dict[str, str] | None = None) -> None:
        self.rules = rules or default_rules()
        self.kinds = kinds if kinds is not None else default_registry().kinds
        self.anchors = {e.event_id for e in self.rules.events if e.anchor}
        self.stories: dict[str, Story] = {}
        self.postings: dict[tuple[str, int], list[str]] = {}
        self._indexed: dict[str, set[tuple[str, int]]] = {}
        self.changed: set[str] = set()  # stories created or grown since the index was built
        self._views: dict[str, tuple[int, _View]] = {}

    # -- the index ------------------------------------------------------------------------------
    def _bucket(self, when: datetime) -> int:
        return int(when.timestamp() // (86_400 * self.rules.bucket_days))

    def _index(self, story: Story) -> None:
        keys = self._indexed.setdefault(story.story_id, set())
        for entity in story.entities:
            for b in range(self._bucket(story.first), self._bucket(story.last) + 1):
                if (entity, b) not in keys:
                    keys.add((entity, b))
                    self.postings.setdefault((entity, b), []).append(story.story_id)

    def load(self, story: Story) -> None:
        """A stored story, to be matched against (not marked changed)."""
        self.stories[story.story_id] = story
        self._index(story)

    # -- similarity -----------------------------------------------------------------------------
    def _weighted(self, entities: dict[str, float]) -> dict[str, float]:
        kw = self.rules.kind_weights
        return {e: v * kw.get(self.kinds.get(e, ""), 1.0) for e, v in entities.items()}

    def _places(self, entities: dict[str, float]) -> dict[str, float]:
        return {e: v for e, v in entities.items() if self.kinds.get(e) == "place"}

    def _view(self, entities: dict[str, float], events: dict[str, float], confident: bool) -> _View:
        anchors = {e: v for e, v in events.items() if e in self.anchors}
        places = self._places(entities)
        anchor_main, place_main = _main(anchors), _main(places)
        if confident:  # an article's main anchor or place counts only when clearly named
            anchor_main = {k for k in anchor_main if anchors[k] >= CONFIDENT}
            place_main = {k for k in place_main if places[k] >= CONFIDENT}
        weighted = self._weighted(_normalised(entities) if confident else entities)
        return _View(weighted, set(anchors), anchor_main, set(places), place_main)

    def _story_view(self, story: Story) -> _View:
        cached = self._views.get(story.story_id)
        if cached is None or cached[0] != story.size:
            cached = (story.size, self._view(story.entities, story.events, confident=False))
            self._views[story.story_id] = cached
        return cached[1]

    def similarity(self, art: ArticleFeatures, story: Story, view: _View | None = None) -> float:
        """0..1; 0 when a gate (time, anchor event, place) says they are different events."""
        first, last = min(story.first, art.when), max(story.last, art.when)
        if art.when < story.first - self.rules.window or art.when > story.last + self.rules.window:
            return 0.0
        if last - first > self.rules.max_span:
            return 0.0
        a = view or self._view(art.entities, art.events, confident=True)
        s = self._story_view(story)
        if _conflict(a.anchor_main, a.anchors, s.anchor_main, s.anchors):
            return 0.0  # a visit is not a summit
        if _conflict(a.place_main, a.places, s.place_main, s.places):
            return 0.0  # a summit in Samarkand is not one in Astana
        w = self.rules.weights
        parts = {"entities": _cosine(a.entities, s.entities)}
        if art.events and story.events:
            parts["events"] = _cosine(art.events, story.events)
        if art.topics and story.topics:
            common = {t for t, n in story.topics.items() if 2 * n >= story.size}
            parts["topics"] = len(art.topics & common) / len(art.topics | common) if common else 0.0
        vocabulary = story.terms.get(art.language or "")
        if art.key_terms and vocabulary:
            parts["terms"] = sum(min(1.0, 2 * vocabulary.get(t, 0) / story.size) for t in art.key_terms) / len(
                art.key_terms
            )
        return sum(w[k] * v for k, v in parts.items()) / sum(w[k] for k in parts)

    def candidates(self, art: ArticleFeatures) -> list[str]:
        lookup = sorted(self._weighted(art.entities).items(), key=lambda kv: (-kv[1], kv[0]))
        lo, hi = self._bucket(art.when - self.rules.window), self._bucket(art.when + self.rules.window)
        found: set[str] = set()
        for entity, _ in lookup[: self.rules.lookup_entities]:
            for b in range(lo, hi + 1):
                posting = self.postings.get((entity, b), ())
                if len(posting) <= self.rules.max_postings:
                    found.update(posting)
        return sorted(found)

    # -- adding ---------------------------------------------------------------------------------
    def best_match(self, art: ArticleFeatures) -> tuple[Story | None, float]:
        best, best_score = None, 0.0
        view = self._view(art.entities, art.events, confident=True)
        for story_id in self.candidates(art):
            score = self.similarity(art, self.stories[story_id], view)
            if score > best_score:  # candidates are sorted: ties go to the earliest-created id
                best, best_score = self.stories[story_id], score
        # Without a publication date the time gate proves nothing (an archive article loaded today
        # looks as recent as today's news), so an undated article must be a much closer match.
        if best_score < (self.rules.threshold if art.dated else self.rules.undated_threshold):
            return None, best_score
        return best, best_score

    def add(self, art: ArticleFeatures) -> str:
        """Put the article in its story (an existing one, or a new one); return the story id."""
        story, score = self.best_match(art) if art.entities else (None, 0.0)
        if story is None:
            story = Story(story_id_for(art.article_id), art.when, art.when)
            self.stories[story.story_id] = story
        story.first, story.last = min(story.first, art.when), max(story.last, art.when)
        story.size += 1
        for key, values in (("entities", _normalised(art.entities)), ("events", _normalised(art.events))):
            target = getattr(story, key)
            for k, v in values.items():
                target[k] = target.get(k, 0.0) + v
        for t in art.topics:
            story.topics[t] = story.topics.get(t, 0) + 1
        vocabulary = story.terms.setdefault(art.language or "", {})
        for t in art.key_terms:
            vocabulary[t] = vocabulary.get(t, 0) + 1
        if len(vocabulary) > MAX_TERMS_PER_LANGUAGE:
            kept = sorted(vocabulary.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS_PER_LANGUAGE]
            story.terms[art.language or ""] = dict(kept)
        # The label: the most central title, an English one first (the digest's readers read English).
        candidate = (art.article_id, art.title, art.language or "", score)
        if (candidate[2] == "en", score) > (story.label[2] == "en", story.label[3]) and art.title:
            story.label = candidate
        story.members.append(art.article_id)
        self.changed.add(story.story_id)
        self._index(story)
        return story.story_id


def story_id_for(first_article_id: str) -> str:
    """A story is named after the article that started it: stable across re-runs in the same order."""
    return f"st-{first_article_id}"


def sort_key(art: ArticleFeatures) -> tuple:
    """The order articles are clustered in: date, then id."""
    return (art.when, art.article_id)


def cluster(articles: list[ArticleFeatures], rules: StoryRules | None = None) -> dict[str, str]:
    """article id -> story id for a set of articles, from nothing (evaluation and tests)."""
    index = StoryIndex(rules)
    return {a.article_id: index.add(a) for a in sorted(articles, key=sort_key)}
