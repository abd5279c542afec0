"""Topic classification: traps, evidence, and precision/recall on the labelled set."""

from __future__ import annotations

import tomllib

import pytest

from evaluation.topics import labelled_items, report, score
from parsers.classify import RulesError, classify_topics, compile_ruleset, default_ruleset
from tests.conftest import ROOT

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
    data["topics"] = {}  # the topics are the file's: a file without any is the error now
    with pytest.raises(RulesError, match="no topics"):
        compile_ruleset(data)


def test_labelled_set_precision_and_recall():
    items = labelled_items()
    assert len(items) >= 60
    stats, errors = score(items)
    print("\n" + report(stats, errors, len(items)))
    failing = [
        t
        for t, s in stats.items()
        if t != "_negatives" and (s["precision"] < TARGET_PRECISION or s["recall"] < TARGET_RECALL)
    ]
    assert not failing, f"below target precision {TARGET_PRECISION} / recall {TARGET_RECALL}: {failing}"
    assert stats["_negatives"]["rate"] >= 0.95  # unrelated news gets no topic at all
