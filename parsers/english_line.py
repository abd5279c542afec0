"""The English line of a non-English article, for analysts who read only English.

Not a translation: the article's language, its title as written, then its topics and the
registered entities it names under their English labels (``rules/entities.toml``), grouped so a
reader sees at a glance what and where and who::

    [ru] Лидеры стран ШОС собрались в Астане — SCO · Astana, Kazakhstan · Tokayev, Putin, Rahmon

Digests, search results and ``silkwatch stories`` all show this one line. Where the title is
printed just above it, they leave the title out (``show_title=False``): ``[ru] SCO · Astana · ...``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from silkwatch.parsers.entities import Registry, default_registry, tag_entities

# What comes after the topics, in this order: organisations and projects, then places, then people.
KIND_GROUPS = (("organisation", "initiative", "project"), ("place", "country", "region"), ("person",))
MAX_PER_GROUP = 4  # the most mentioned of each kind (title mentions first among equals)
NOTHING_KNOWN = "no topic, no registered name"


def english_line(
    language: str | None,
    title: str,
    text: str,
    topics: Sequence[str],
    *,
    show_title: bool = True,
    registry: Registry | None = None,
) -> str | None:
    """``[lang] title — topics · organisations · places · people``, or None for an English article
    (or one whose language is unknown). ``topics``: the article's topics, strongest first; the
    entities are tagged from ``title`` and ``text``; ``show_title=False`` leaves the title out of
    the line (shown just above it)."""
    if not language or language == "en":
        return None
    reg = registry or default_registry()
    shown_topics = list(dict.fromkeys(topics))
    mentions = tag_entities(title or "", text or "", reg)
    counts = Counter(m.entity_id for m in mentions)
    first = {}
    for n, m in enumerate(mentions):  # title mentions come first
        first.setdefault(m.entity_id, n)
    ranked = sorted(counts, key=lambda e: (-counts[e], first[e]))
    # an entity that is one of the topics (the SCO, the Belt and Road as BRI) is said once, as the topic
    ranked = [e for e in ranked if not set(reg.names.get(e, ())) & set(shown_topics)]
    groups = [", ".join(shown_topics)] if shown_topics else []
    for kinds in KIND_GROUPS:  # within a group the more specific kind first: a city, then its country
        members = sorted((e for e in ranked if reg.kinds.get(e) in kinds), key=lambda e: kinds.index(reg.kinds[e]))
        labels = [reg.labels[e] for e in members][:MAX_PER_GROUP]
        if labels:
            groups.append(", ".join(labels))
    body = " · ".join(groups) or NOTHING_KNOWN
    return f"[{language}] {title} — {body}" if show_title and title else f"[{language}] {body}"
