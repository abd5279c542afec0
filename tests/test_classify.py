"""Topic classification: traps, evidence, and precision/recall on the labelled set."""

from __future__ import annotations

import tomllib

import pytest

from evaluation.topics import labelled_items, report, score
from silkwatch.parsers.classify import RulesError, classify_topics, compile_ruleset, default_ruleset
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Russian: every case ending of the beat's words
        ("Саммит Шанхайской организации сотрудничества открылся; лидеры стран ШОС прибыли.", {"SCO"}),
        ("Началось строительство железной дороги «Китай — Кыргызстан — Узбекистан».", {"BRI"}),
        ("Форум «Один пояс — один путь» открылся в Пекине.", {"BRI"}),
        (
            "Казахстан наращивает перевозки по Среднему коридору и Транскаспийскому международному "
            "транспортному маршруту.",
            {"BRI"},
        ),
        ("Генсек ОДКБ обсудил с президентом вопросы коллективной безопасности.", {"security"}),
        ("Российские и таджикские военные начали совместные антитеррористические учения.", {"security"}),
        ("Товарооборот двух стран вырос, взаимная торговля в национальных валютах.", {"trade"}),
        ("Помощник президента по торговому и инвестиционному сотрудничеству.", set()),  # a job title
        ("В торговом центре открылся новый магазин, торговая сеть расширяется.", set()),  # shops, not trade
        ("Обсуждались продовольственная и информационная безопасность.", set()),
        # Chinese: in running text, Simplified and Traditional
        ("上海合作组织成员国元首理事会会议在天津举行。", {"SCO"}),
        ("在平等互利基础上合作，推进海上合作和线上合作。", set()),  # 上合 inside other words
        ("王毅表示，中方愿做优做强上海合作组织、金砖国家等多边平台。", set()),  # a list of platforms
        ("上合组织框架下的务实合作", set()),  # a short form once: 2 < 2.5, as SCO in English
        ("双方同意高质量共建一带一路，加快中吉乌铁路建设。", {"BRI"}),
        ("双方将加强安全和反恐合作。", {"security"}),
        ("集体安全条约组织峰会在莫斯科举行。", {"security"}),
        ("中央军委主席习近平签署命令，发布军事法规。", {"security"}),
        ("拿破仑的军队横行欧洲，军队又到了，军队撤退。", set()),  # armies in a parable
        ("食品安全和安全生产检查", set()),
        ("双边贸易额创历史新高，进出口增长。", {"trade"}),
        ("中國加入世界貿易組織，對外貿易擴大。", {"trade"}),  # Traditional characters
        ("对外经济贸易大学出版社出版；请走安全出口。", set()),
    ],
)
def test_russian_and_chinese_signals_and_traps(text, expected):
    assert topics_of(text) == expected


def test_chinese_exclusions_apply_without_word_boundaries():
    """A Chinese exclusion masks the phrase inside running text (there are no spaces to bound it)."""
    data = tomllib.loads((ROOT / "parsers/rules/topics.toml").read_text("utf-8"))
    data["topics"]["trade"]["exclude"] = ["货物贸易"]
    rules = compile_ruleset(data)
    text = "今年货物贸易增长，货物贸易额创新高，货物贸易伙伴增加。"
    assert "trade" not in {label.topic for label in classify_topics("", text, rules)}
    assert "trade" in topics_of(text)


def _unfiltered(ruleset):
    """``ruleset`` with every phrase always tried: the whole alternation, as before the prefilter."""
    from dataclasses import replace

    def whole(phrases):
        return replace(phrases, literals=(None,) * len(phrases.groups)) if phrases else phrases

    topics = [replace(t, phrases=tuple(map(whole, t.phrases)), cjk=whole(t.cjk)) for t in ruleset.topics]
    return replace(ruleset, topics=tuple(topics))


def test_the_literal_prefilter_changes_no_label():
    """Leaving out the phrases whose literals a text lacks gives the labels, scores and evidence of
    the whole alternation: on the labelled set, and on text whose letters re.IGNORECASE takes for
    others (dotless ı, long ſ, Cyrillic ᲂ for о, Greek final ς, İ)."""
    rules = default_ruleset()
    whole = _unfiltered(rules)
    texts = [(title, text) for _, title, text in labelled_items()]
    texts += [
        ("", "Defence ministers discussed ſecurity cooperation and the Shanghaı Cooperatıon Organisation."),
        ("", "Ꮪ: ШАНХАЙСКОЙ ОРГАНИЗАЦИИ СОТРУДНИЧЕСТВА и ᲂбᲂрᲂна; безᲂпасность. ΣΥΝΕΡΓΑΣΊΑ ς."),
        ("İnvestment", "Bilateral trade and İMPORTS of commodıtıes; TRADE TURNOVER; FDI."),
    ]
    assert sum(bool(classify_topics(t, x, rules)) for t, x in texts) >= 50
    for title, text in texts:
        assert classify_topics(title, text, rules) == classify_topics(title, text, whole), (title, text[:80])


@pytest.mark.parametrize(
    ("pattern", "ignore_case", "expected"),
    [
        ("Shanghai Cooperation Organi[sz]ation", True, ("shanghai cooperation organi",)),
        ("SCO", False, ("SCO",)),
        ("New Silk Roads?", True, ("new silk road",)),
        ("Ꮪecurity", True, ("ecurity",)),  # Cherokee Ꮪ lowers to ꮪ, a cased letter above U+3000: cut there
        (r"шанхайск\w{0,3}\s+организаци\w{0,3}", True, ("организаци",)),
        (r"Пояс\w* и пут\w*|CPEC", True, (" и пут", "cpec")),
        ("(joint|military) (drills|exercises)", True, (" ",)),
        (r"\x41bc\u0430", True, None),  # characters by their code are not read
        ("(?i)sco", False, None),  # nor inline flags
        ("a|[bc]", True, None),  # a branch without a literal: no prefilter
    ],
)
def test_required_literals(pattern, ignore_case, expected):
    from silkwatch.parsers.classify import required_literals

    assert required_literals(pattern, ignore_case) == expected


def test_fold_case_speaks_for_every_character_ignorecase_matches():
    """Every character below U+3000 that re.IGNORECASE matches to a character ``c`` folds as ``c``."""
    import re
    import sys

    from silkwatch.parsers.classify import UNFOLDED_FROM, fold_case

    cased = "".join(
        ch for ch in map(chr, range(sys.maxunicode + 1))
        if not 0xD800 <= ord(ch) < 0xE000 and len({ch, ch.lower(), ch.upper(), ch.casefold(), ch.title()}) > 1
    )  # fmt: skip
    for code in range(UNFOLDED_FROM):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        for found in re.finditer(re.escape(char), cased, re.IGNORECASE):
            assert fold_case(found.group()) == fold_case(char), (hex(code), hex(ord(found.group())))
