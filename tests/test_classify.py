"""Topic classification: traps, evidence, and precision/recall on the labelled set."""

from __future__ import annotations

import tomllib

import pytest

from parsers.classify import RulesError, classify_topics, compile_ruleset, default_ruleset
from parsers.model import TOPICS
from parsers.seeds import parse_seed
from tests.conftest import FIXTURES, ROOT

TARGET_PRECISION = 0.9
TARGET_RECALL = 0.85


def topics_of(text: str, title: str = "") -> set[str]:
    return {label.topic for label in classify_topics(title, text)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mishustin will lead a delegation to a Shanghai business forum next week.", set()),
        ("Leaders met at the Shanghai Cooperation Organisation summit in Astana.", {"SCO"}),
        ("The new China-Europe Railway Express route runs through Kazakhstan.", {"BRI"}),
        ("Officials praised the New Silk Road as a driver of growth.", {"BRI"}),
        ("Kazakhstan adopted a food security plan and an energy security strategy.", set()),
        ("The countries pledged to defend their territorial integrity.", set()),  # one phrase: 2 < 2.5
        ("They pledged to fight terrorism and to defend their territorial integrity.", {"security"}),
        ("Law enforcement cooperation and counter-terrorism were discussed.", {"security"}),
        ("China is the largest trading partner of Tajikistan; exports rose.", {"trade"}),
        ("The Browns' defense allowed 14 points and the secondary played well.", set()),
        ("The sco-called deal", set()),
    ],
)
def test_traps_and_signals(text, expected):
    assert topics_of(text) == expected


def test_evidence_has_phrases_offsets_and_version():
    text = "Xi attended the SCO summit. The Shanghai Cooperation Organisation met in Astana."
    (label,) = classify_topics("", text)
    assert label.topic == "SCO"
    assert label.rules_version == default_ruleset().version
    assert label.evidence == ["Shanghai Cooperation Organisation", "SCO"]
    for match in label.matches:
        assert text[match.start : match.start + len(match.phrase)] == match.phrase


def test_offsets_survive_typographic_quotes():
    text = "Troops of the People’s Liberation Army and the military held drills; terrorism was discussed."
    (label,) = classify_topics("", text)
    for match in label.matches:
        assert text[match.start : match.start + len(match.phrase)] == match.phrase
    assert "People’s Liberation Army" in label.evidence


def test_title_matches_count_more():
    plain = classify_topics("", "Defense cooperation was discussed.")
    titled = classify_topics("Defense cooperation", "Defense cooperation was discussed.")
    assert not plain
    assert titled[0].topic == "security"


def test_rules_error_names_the_topic():
    data = tomllib.loads((ROOT / "parsers/rules/topics.toml").read_text("utf-8"))
    data["topics"]["trade"]["phrases"].append({"p": "(broken", "w": 1})
    with pytest.raises(RulesError, match="topic trade"):
        compile_ruleset(data)
    del data["topics"]["SCO"]
    with pytest.raises(RulesError, match="no rules for topic 'SCO'"):
        compile_ruleset(data)


def _labelled_items(corpora_pages):
    items = tomllib.loads((FIXTURES / "topic_labels.toml").read_text("utf-8"))["item"]
    for item in items:
        source = item["source"]
        if source.startswith("seeds/"):
            name = source.removeprefix("seeds/")
            article = parse_seed(name, (ROOT / source).read_text("utf-8"))
            title, text = article.title, article.text
        elif "corpora_bodies.json#" in source:
            page_id = source.split("#", 1)[1].split(" ", 1)[0]
            title, text = "", corpora_pages[page_id]["articleBody"]
        else:
            title, text = "", item["text"]
        yield item, title, text


def test_labelled_set_precision_and_recall(corpora_pages):
    items = list(_labelled_items(corpora_pages))
    assert len(items) >= 60
    stats = {t: {"tp": 0, "fp": 0, "fn": 0} for t in TOPICS}
    errors = []
    for item, title, text in items:
        got, want = topics_of(text, title), set(item["topics"])
        for topic in TOPICS:
            if topic in got and topic in want:
                stats[topic]["tp"] += 1
            elif topic in got:
                stats[topic]["fp"] += 1
                errors.append(f"  false {topic}: {item['id']}")
            elif topic in want:
                stats[topic]["fn"] += 1
                errors.append(f"  missed {topic}: {item['id']}")
    print(f"\ntopic classification on {len(items)} labelled articles")
    print(f"{'topic':<10}{'support':>8}{'precision':>11}{'recall':>8}{'F1':>7}")
    failing = []
    for topic, s in stats.items():
        precision = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else 1.0
        recall = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"{topic:<10}{s['tp'] + s['fn']:>8}{precision:>11.2f}{recall:>8.2f}{f1:>7.2f}")
        if precision < TARGET_PRECISION or recall < TARGET_RECALL:
            failing.append(topic)
    print("\n".join(errors) or "  no errors")
    assert not failing, f"below target precision {TARGET_PRECISION} / recall {TARGET_RECALL}: {failing}"
