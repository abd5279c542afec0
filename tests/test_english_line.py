"""The English line of a Russian or Chinese article: language, title, topics, entities in English."""

from __future__ import annotations

from silkwatch.parsers.classify import classify_topics
from silkwatch.parsers.english_line import english_line

RU_TITLE = "Лидеры стран ШОС собрались в Астане"
RU_TEXT = (
    "Саммит Шанхайской организации сотрудничества прошёл в Астане. Председательствовал Касым-Жомарт Токаев, "
    "в саммите участвовали Владимир Путин и Эмомали Рахмон."
)
ZH_TITLE = "习近平在阿斯塔纳出席上合组织峰会"
ZH_TEXT = (
    "国家主席习近平在阿斯塔纳出席上海合作组织成员国元首理事会会议，并同托卡耶夫总统会谈。双方同意推进中吉乌铁路建设。"
)


def _topics(title: str, text: str) -> list[str]:
    return [label.topic for label in classify_topics(title, text)]


def test_the_issues_example():
    line = english_line("ru", RU_TITLE, RU_TEXT, _topics(RU_TITLE, RU_TEXT))
    assert line == "[ru] Лидеры стран ШОС собрались в Астане — SCO · Astana · Tokayev, Putin, Rahmon"


def test_chinese_groups_organisations_places_people():
    line = english_line("zh", ZH_TITLE, ZH_TEXT, _topics(ZH_TITLE, ZH_TEXT))
    assert line == (
        "[zh] 习近平在阿斯塔纳出席上合组织峰会 — SCO, BRI · China–Kyrgyzstan–Uzbekistan railway · Astana · "
        "Xi Jinping, Tokayev"
    )


def test_without_the_title_when_it_is_shown_above():
    line = english_line("ru", RU_TITLE, RU_TEXT, ["SCO"], show_title=False)
    assert line == "[ru] SCO · Astana · Tokayev, Putin, Rahmon"


def test_english_and_unknown_languages_get_none():
    assert english_line("en", "Leaders meet in Astana", "Tokayev hosted the SCO.", ["SCO"]) is None
    assert english_line(None, "Лидеры", "Токаев", []) is None


def test_an_article_off_the_beat_says_so():
    assert english_line("ru", "Погода в Москве", "Завтра будет морозно.", []) == ("[ru] Погода в Москве — Moscow")
    assert english_line("de", "Wetter", "Morgen wird es kalt.", []) == "[de] Wetter — no topic, no registered name"


def test_an_entity_that_is_a_topic_is_said_once():
    # the SCO (the organisation) and BRI (the Belt and Road) are the topics: not repeated as entities
    line = english_line("zh", "一带一路", "上海合作组织成员国支持共建一带一路。", ["SCO", "BRI"], show_title=False)
    assert line == "[zh] SCO, BRI"
