"""Russian case endings: one normaliser (parsers/russian.py), its two rules, and no second copy.

The inflected forms are those of the labelled Russian items (tests/fixtures/topic_labels.toml:
``written-ru-sco``, ``ru-kz-china-trade-2024``, ``ru-csto-tasmagambetov-tokayev``, ``ru-li-qiang-sco-moscow``)
and "Астаны" of a vesti.kz page in the DAnIEL corpus (evaluation/external.py); the nominatives are
the registry's (rules/entities.toml), and "Астаной" is the instrumental case of Астана.
"""

from __future__ import annotations

import ast
import re

import pytest

from silkwatch.parsers.classify import classify_topics, compile_ruleset
from silkwatch.parsers.entities import tag_entities
from silkwatch.parsers.russian import ending_keys, fold, index_key, name_pattern, name_stem, with_case_ending
from silkwatch.parsers.tokenize import query_terms, terms
from tests.conftest import ROOT

FORMS = {
    "astana": ["Астана", "Астаны", "Астане", "Астаной"],
    "kazakhstan": ["Казахстан", "Казахстана", "Казахстане"],
    "kassym-jomart-tokayev": ["Токаев", "Токаевым"],
}


@pytest.mark.parametrize("entity", sorted(FORMS))
def test_the_index_rule_gives_every_case_form_one_key(entity):
    keys = {index_key(fold(form)) for form in FORMS[entity]}
    assert len(keys) == 1, keys
    assert {t for form in FORMS[entity] for t in terms(form)} == keys


def test_the_index_rule_folds_case_and_yo():
    assert terms("Мирзиёев") == terms("МИРЗИЕЕВ") == [index_key("мирзиеев")]


def test_a_query_in_the_nominative_finds_a_phrase_in_another_case():
    assert terms("Шанхайская организация сотрудничества") == terms("Шанхайской организации сотрудничества")
    concepts, _ = query_terms("ШОС Астана")
    assert set(terms("в Астане")) <= set(concepts)


@pytest.mark.parametrize(("entity", "form"), [(e, f) for e, forms in sorted(FORMS.items()) for f in forms])
def test_the_name_rule_tags_every_case_form(entity, form):
    assert [(m.entity_id, m.mention) for m in tag_entities("", f"Встреча: {form} и партнёры")] == [(entity, form)]


def test_the_name_rule_tags_the_sco_in_both_its_names():
    text = "Саммит Шанхайской организации сотрудничества прошёл в Астане. Лидеры государств — членов ШОС подписали"
    assert [m.entity_id for m in tag_entities("", text)] == ["sco", "astana", "sco"]


def test_the_name_rule_is_stricter_than_the_index_key():
    """A derived word shares the index key (search finds Kazakh news for Kazakhstan) but is no
    mention: казахский (Kazakh) is not Казахстан, китайский (Chinese) is not Китай."""
    assert index_key("казахский") == index_key("казахстан")
    assert tag_entities("", "казахский тенге и китайский юань") == []


@pytest.mark.parametrize(
    ("name_word", "text_word", "expected"),
    [("Астана", "Астаной", True), ("Ферганская", "Ферганской", True), ("Ош", "Оша", True),
     ("Китай", "китайский", False), ("Ош", "Ош", True), ("Tokayev", "Tokayevs", False)],
)  # fmt: skip
def test_the_name_rule_on_one_word(name_word, text_word, expected):
    stem, word = name_stem(fold(name_word)), fold(text_word)
    assert with_case_ending(stem, word) is expected
    assert (stem in ending_keys(word)) is expected


SOURCE_FOLDERS = ("parsers", "flows", "warehouse")
_CYRILLIC_ENDING = re.compile(r"[а-яё]{1,3}")
_CYRILLIC_VOWELS = re.compile(r"[аеёиоуыэюяйь]{4,}")


def russian_ending_code(path) -> list[str]:
    """What in ``path`` reads Russian endings by itself: ё folded to е, a list of Cyrillic endings,
    a string of Cyrillic vowels to cut."""
    source = path.read_text("utf-8")
    found = [f"{path.name}: folds ё" for _ in re.finditer(r"""replace\(\s*["']ё["']""", source)]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            endings = [e for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if len(endings) >= 3 and all(_CYRILLIC_ENDING.fullmatch(e.value) for e in endings):
                found.append(f"{path.name}:{node.lineno}: a list of Cyrillic endings")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _CYRILLIC_VOWELS.fullmatch(node.value):
            found.append(f"{path.name}:{node.lineno}: Cyrillic vowels {node.value!r}")
    return found


def test_russian_endings_are_read_in_one_place():
    elsewhere = [
        hit
        for folder in SOURCE_FOLDERS
        for path in sorted((ROOT / folder).glob("*.py"))
        if path.name != "russian.py"
        for hit in russian_ending_code(path)
    ]
    assert elsewhere == [], "Russian endings: use parsers/russian.py"
    assert russian_ending_code(ROOT / "parsers" / "russian.py"), "the check must see the normaliser's own rules"
    callers = (("tokenize.py", "index_key"), ("entities.py", "name_stem"), ("entities.py", "ending_keys"),
               ("classify.py", "name_pattern"))  # fmt: skip
    for module, rule in callers:
        assert f"{rule}(" in (ROOT / "parsers" / module).read_text("utf-8"), f"parsers/{module} must use {rule}"


def test_a_topic_phrase_marked_cases_matches_by_the_name_rule():
    """The SCO's Russian name in topics.toml is written once, in the nominative, and found in the
    genitive of the labelled item written-ru-sco; the same phrase without ``cases`` is literal."""
    text = "Саммит Шанхайской организации сотрудничества прошёл в Астане 3–4 июля 2024 года."
    sco = next(label for label in classify_topics("", text) if label.topic == "SCO")
    assert [m.phrase for m in sco.matches] == ["Шанхайской организации сотрудничества"]
    phrase = {"p": "Шанхайская организация сотрудничества", "w": 3}
    rules = {"rules_version": "t", "threshold": 2.5, "topics": {"SCO": {"phrases": [phrase]}}}
    assert classify_topics("", text, compile_ruleset(rules)) == []
    rules["topics"]["SCO"]["phrases"] = [{**phrase, "cases": True}]
    assert [label.topic for label in classify_topics("", text, compile_ruleset(rules))] == ["SCO"]


@pytest.mark.parametrize(
    ("phrase", "text", "expected"),
    [("Хоргос", "Хоргоса", True), ("Средний коридор", "Среднему коридору", True),
     ("национальная валюта", "национальных валютах", True), ("Шелковый путь", "Шёлкового пути", True),
     ("Хоргос", "хоргосский", False), ("Ош", "Оша", True)],
)  # fmt: skip
def test_name_pattern_agrees_with_the_name_rule(phrase, text, expected):
    found = re.fullmatch(name_pattern(phrase), text, re.IGNORECASE) is not None
    assert found is expected


@pytest.mark.parametrize("text", ["через Хоргос", "у Хоргоса", "хоргосского сухого порта", "Хоргосский сухой порт"])
def test_the_shipped_bri_rules_see_khorgos_in_every_form(text):
    """Хоргос is a word family in topics.toml (``Хоргос\\w*``), not a name with case endings: the
    dry port is mostly written as an adjective (хоргосский сухой порт), which the name rule misses."""
    matched = [m.phrase for label in classify_topics("", f"Грузы идут {text}. " * 2) for m in label.matches]
    assert any(phrase.lower().startswith("хоргос") for phrase in matched), f"the BRI rules miss {text!r}"
