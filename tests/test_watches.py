"""Watches, breaking stories and their alerts: a real webhook receiver (pytest-httpserver), a real
SMTP server (aiosmtpd), watches in Russian and Chinese, bad config, exactly-once delivery."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from silkwatch.flows.alerts import check_and_alert, watch_matches
from silkwatch.flows.config import ConfigError, load_config
from silkwatch.flows.ingest import cluster_stories, prepare_seeds, read_seeds, save_rows
from silkwatch.flows.notify import check_notify
from silkwatch.parsers.alerts import article_lines
from silkwatch.parsers.watches import WatchQueryError, parse_watch_query, words_as_written
from silkwatch.warehouse.db import open_warehouse
from tests.conftest import SEEDS
from tests.test_digest import smtp  # noqa: F401 - the real SMTP server fixture
from tests.test_stories import _row_for

SEEN = datetime(2026, 11, 23, 9, 0)
RAHMON_SECURITY = {"seed:000_973e75babbcdd9fa.txt", "seed:001_ca2344aa02f0cd64.txt"}
TITLES = {  # the start of each seed's title, as an alert names it
    "seed:000_973e75babbcdd9fa.txt": "Chinese President Xi Jinping on Friday promised his Tajik counterpart",
    "seed:001_ca2344aa02f0cd64.txt": "China's top diplomat Wang Yi vows stronger security",
    "seed:002_dc2f72f61a3a018e.txt": "The 2nd China-Central Asia summit addresses",
    "seed:003_53eca7c8ac1a35d1.txt": "China’s Xi hails ‘unique’ links with Kazakhstan",
    "seed:004_486398540443305b.txt": "Xi Says China Ready to Help Central Asia",
}


def config_file(tmp_path: Path, watches: str, extra: str = "") -> Path:
    path = tmp_path / "silkwatch.toml"
    path.write_text(f'[warehouse]\npath = "w.duckdb"\n[seeds]\ndir = "{SEEDS}"\n{extra}\n{watches}', "utf-8")
    return path


def watch(name: str, query: str, notify: list[str], **filters: list[str]) -> str:
    lines = [f"[[watch]]\nname = {json.dumps(name)}\nquery = {json.dumps(query, ensure_ascii=False)}",
             f"notify = {json.dumps(notify)}"]  # fmt: skip
    lines += [f"{key} = {json.dumps(values, ensure_ascii=False)}" for key, values in filters.items()]
    return "\n".join(lines) + "\n"


def load_seeds(db: Path) -> None:
    save_rows(db, prepare_seeds(read_seeds(SEEDS).items).items, [], "load", SEEN)


def json_hook(httpserver, path: str) -> str:
    """Apprise's JSON webhook URL for a path of the local receiver."""
    return f"json://127.0.0.1:{httpserver.port}{path}"


def posts(httpserver, path: str = "/hook") -> list[dict]:
    return [json.loads(request.get_data()) for request, _ in httpserver.log if request.path == path]


# -- the query -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "entities", "terms", "phrases"),
    [
        ("Rahmon", ("emomali-rahmon",), (), ()),
        ("Рахмона", ("emomali-rahmon",), (), ()),  # a Russian case ending
        ("拉赫蒙", ("emomali-rahmon",), (), ()),  # Chinese: three characters, two index terms, one name
        ("Xi Jinping security", ("xi-jinping",), ("security",), ()),
        ('"Belt and Road" Kazakhstan', ("kazakhstan",), ("belt", "road"), ("belt and road",)),
        ("саммит в Астане", ("astana",), ("самми",), ()),
        ("上合组织 峰会", ("sco",), ("峰会",), ()),
    ],
)
def test_a_query_is_entities_words_and_phrases(query, entities, terms, phrases):
    parsed = parse_watch_query(query)
    assert (parsed.entities, parsed.terms, parsed.phrases) == (entities, terms, phrases)


def test_a_query_of_nothing_is_refused():
    with pytest.raises(WatchQueryError, match="no word to look for"):
        parse_watch_query('the and "" ,')


def test_words_as_written():
    assert words_as_written("Security ties; securing borders; 中亚峰会", {"security", "secur", "峰会"}) == [
        "Security", "securing", "峰会",
    ]  # fmt: skip


# -- config ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (watch("w1", "Rahmon", [], topics=["sports"]), r"\[\[watch\]\] 'w1': unknown topic 'sports' \(topics: SCO"),
        (watch("w2", "Rahmon", [], entities=["rahmon"]), r"\[\[watch\]\] 'w2': unknown entity 'rahmon'"),
        (watch("w3", "the", []), r"\[\[watch\]\] 'w3': query 'the' has no word"),
        (watch("w4", "Rahmon", ["email"]) + "colour = 'red'\n", r"'w4': unknown key 'colour'"),
        (watch("w5", "Rahmon", []) + watch("w5", "Xi", []), r"'w5': two watches have this name"),
        (watch("w6", "Rahmon", [], languages="ru"), r"'w6': languages must be a list of text"),
        ('[[watch]]\nquery = "Rahmon"\n', r"\[\[watch\]\] number 1: name must be"),
    ],
)
def test_a_bad_watch_is_an_error_naming_it(tmp_path, entry, message):
    with pytest.raises(ConfigError, match=message):
        load_config(config_file(tmp_path, entry))


def test_email_needs_recipients(tmp_path):
    with pytest.raises(ConfigError, match=r"'w': notify has \"email\" but \[email\] recipients is empty"):
        load_config(config_file(tmp_path, watch("w", "Rahmon", ["email"]), "[email]\nrecipients = []\n"))


@pytest.mark.parametrize("url", ["jsn:/127.0.0.1/hook", "json://", "tgram://not-a-token/123", "https//x"])
def test_a_malformed_apprise_url_names_the_watch_and_nothing_is_sent(tmp_path, httpserver, url):
    httpserver.expect_request("/hook").respond_with_data("ok")
    good = watch("good", "Rahmon", [json_hook(httpserver, "/hook")])
    path = config_file(tmp_path, good + watch("bad one", "Xi", [url]))
    cfg = load_config(path)
    with pytest.raises(ConfigError, match=r"\[\[watch\]\] 'bad one': notify '.*' is not a URL Apprise can send to"):
        check_notify(cfg)
    load_seeds(cfg.warehouse_path)
    with pytest.raises(ConfigError, match="'bad one'"):
        check_and_alert(cfg, "run-1", SEEN)
    assert httpserver.log == []  # the good watch's alert was not sent either
    with open_warehouse(cfg.warehouse_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM alerts").fetchone() == (0,)


def test_an_unset_variable_in_a_url_names_the_watch(tmp_path, monkeypatch):
    monkeypatch.delenv("SILKWATCH_TEST_TOKEN", raising=False)
    cfg = load_config(config_file(tmp_path, watch("tg", "Rahmon", ["tgram://${SILKWATCH_TEST_TOKEN}/12345"])))
    with pytest.raises(ConfigError, match=r"'tg': notify URL names \$\{SILKWATCH_TEST_TOKEN\}, which is not set"):
        check_notify(cfg)
    monkeypatch.setenv("SILKWATCH_TEST_TOKEN", "123456789:abcdefghijklmnopqrstuvwxyz_ABCDEFG")
    check_notify(cfg)


# -- matching and sending ---------------------------------------------------------------------------


def test_rahmon_and_security_posts_the_two_seed_articles_once(tmp_path, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    hook = json_hook(httpserver, "/hook")
    cfg = load_config(config_file(tmp_path, watch("rahmon-security", "Rahmon", [hook], topics=["security"])))
    load_seeds(cfg.warehouse_path)

    first = check_and_alert(cfg, "run-1", SEEN)
    assert first.hits == {"rahmon-security": 2} and [d.sent for d in first.deliveries] == [True]
    (payload,) = posts(httpserver)
    message = payload["message"]
    for url, title in TITLES.items():
        assert (title in message) is (url in RAHMON_SECURITY), url  # the two, and no other article
        assert (url.removeprefix("seed:") in message) is (url in RAHMON_SECURITY)
    assert payload["title"] == "silkwatch: 2 new articles for “rahmon-security”"
    assert "Why: Emomali Rahmon as “Rakhmon”; topic security (territorial integrity" in message
    assert "South China Morning Post" in message

    again = check_and_alert(cfg, "run-2", SEEN + timedelta(hours=1))
    assert again.hits == {} and again.deliveries == [] and len(posts(httpserver)) == 1
    with open_warehouse(cfg.warehouse_path, read_only=True) as con:
        hits = con.execute("SELECT watch, article_id, run_id FROM watch_hits ORDER BY article_id").fetchall()
        assert [(w, r) for w, _, r in hits] == [("rahmon-security", "run-1")] * 2
        status = con.execute("SELECT status, attempts, article_ids FROM alerts").fetchall()
        assert [(s, n, len(ids)) for s, n, ids in status] == [("sent", 1, 2)]


def test_a_failed_delivery_is_recorded_and_retried_once(tmp_path, httpserver):
    httpserver.expect_oneshot_request("/hook").respond_with_data("busy", status=503)
    httpserver.expect_request("/hook").respond_with_data("ok")
    hook = json_hook(httpserver, "/hook")
    cfg = load_config(config_file(tmp_path, watch("rahmon", "Rahmon", [hook])))
    load_seeds(cfg.warehouse_path)

    failed = check_and_alert(cfg, "run-1", SEEN)
    (delivery,) = failed.deliveries
    assert not delivery.sent and "503" in delivery.reason and "retried on the next run" in delivery.reason
    with open_warehouse(cfg.warehouse_path, read_only=True) as con:
        assert con.execute("SELECT status, attempts FROM alerts").fetchall() == [("failed", 1)]
    retried = check_and_alert(cfg, "run-2", SEEN + timedelta(hours=1))
    assert retried.hits == {} and [d.sent for d in retried.deliveries] == [True]
    assert check_and_alert(cfg, "run-3", SEEN + timedelta(hours=2)).deliveries == []
    first, second = posts(httpserver)
    assert first == second  # the same message, as built when the articles matched
    with open_warehouse(cfg.warehouse_path, read_only=True) as con:
        assert con.execute("SELECT status, attempts, error FROM alerts").fetchall() == [("sent", 2, None)]


def test_email_alert_goes_to_the_email_recipients(tmp_path, smtp):  # noqa: F811 - the fixture
    inbox, port = smtp
    email = (f'[email]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\nsender = "silkwatch@example.org"\n'
             'recipients = ["analyst@example.org", "desk@example.org"]\n')  # fmt: skip
    cfg = load_config(config_file(tmp_path, watch("rahmon", "Rahmon", ["email"], topics=["security"]), email))
    load_seeds(cfg.warehouse_path)
    summary = check_and_alert(cfg, "run-1", SEEN)
    assert [(d.target, d.sent) for d in summary.deliveries] == [("email", True)]
    (msg,) = inbox.messages
    assert msg["Subject"] == "silkwatch: 2 new articles for “rahmon”"
    assert msg["To"] == "analyst@example.org, desk@example.org"
    body = msg.get_content()
    assert TITLES["seed:001_ca2344aa02f0cd64.txt"] in body and TITLES["seed:003_53eca7c8ac1a35d1.txt"] not in body
    assert check_and_alert(cfg, "run-2", SEEN).deliveries == [] and len(inbox.messages) == 1


# -- Russian and Chinese ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def languages_db(tmp_path_factory) -> Path:
    """The story fixtures (tests/fixtures/story_labels.toml): English, Russian and Chinese reports."""
    from evaluation.stories import labelled_items

    db = tmp_path_factory.mktemp("languages") / "w.duckdb"
    save_rows(db, [_row_for(item) for item in labelled_items()], [], "load", SEEN)
    return db


@pytest.mark.parametrize(
    ("query", "filters", "titles"),
    [
        ("Рахмон", {"languages": ["ru"]}, ["Эмомали Рахмон принял Ван И в Душанбе",
                                            "Си Цзиньпин прибыл в Душанбе с государственным визитом"]),
        # a Russian word in any case (саммита, саммиту), and Astana by name
        ("саммит в Астане", {}, ["В Астане прошёл второй саммит «Центральная Азия — Китай»",
                                 "В Астане прошёл саммит ШОС", "В Астане прошло заседание СМИД ШОС",
                                 "Путин и Си Цзиньпин встретились в Астане на полях саммита ШОС"]),
        ("拉赫蒙", {"languages": ["zh"]}, ["习近平在杜尚别同塔吉克斯坦总统拉赫蒙会谈", "塔吉克斯坦总统拉赫蒙会见王毅"]),
        # two names in Chinese find the reports in every language
        ("上合组织 天津", {}, ["上海合作组织成员国元首理事会第二十五次会议在天津举行", "В Тяньцзине прошёл саммит ШОС",
                               "Xi hosts SCO summit in Tianjin"]),
        ("峰会 阿斯塔纳", {}, ["第二届中国—中亚峰会在阿斯塔纳举行"]),  # a Chinese word, and Astana
        ("Rahmon", {"entities": ["wang-yi"]}, ["Эмомали Рахмон принял Ван И в Душанбе", "塔吉克斯坦总统拉赫蒙会见王毅",
                                               "China's top diplomat Wang Yi vows stronger security, anti-terror "
                                               "ties with Tajikistan"]),
    ],
)  # fmt: skip
def test_watches_in_russian_and_chinese(languages_db, query, filters, titles):
    from silkwatch.flows.config import WatchConfig

    w = WatchConfig(name="w", query=query, **{k: tuple(v) for k, v in filters.items()})
    with open_warehouse(languages_db, read_only=True) as con:
        found = watch_matches(con, w)
    assert sorted(a["title"] for a in found) == sorted(titles)
    assert all(a["why"] for a in found)


def test_a_chinese_watch_posts_its_articles_in_utf8(tmp_path, httpserver):
    from evaluation.stories import labelled_items

    httpserver.expect_request("/zh").respond_with_data("ok")
    hook = json_hook(httpserver, "/zh")
    cfg = load_config(config_file(tmp_path, watch("拉赫蒙", "拉赫蒙", [hook], languages=["zh"])))
    save_rows(cfg.warehouse_path, [_row_for(i) for i in labelled_items() if i["id"].startswith("wangyi24")], [],
              "load", SEEN)  # fmt: skip
    check_and_alert(cfg, "run-1", SEEN)
    (payload,) = posts(httpserver, "/zh")
    assert payload["title"] == "silkwatch: 1 new article for “拉赫蒙”"
    assert "塔吉克斯坦总统拉赫蒙会见王毅" in payload["message"] and "新华社" in payload["message"]
    assert "Why: Emomali Rahmon as “拉赫蒙”" in payload["message"]


def test_an_alert_gives_a_non_english_article_its_english_line_and_an_english_one_none():
    russian = {
        "title": "В Астане прошёл саммит ШОС", "language": "ru", "url": "https://tass.ru/x", "source_name": "ТАСС",
        "text": "Председательствовал президент Казахстана Касым-Жомарт Токаев. В саммите участвовали Владимир Путин "
                "и Си Цзиньпин.",
        "topics": [{"topic": "SCO", "score": 4.0, "evidence": ["ШОС"]}],
    }  # fmt: skip
    lines = article_lines(1, russian)
    assert lines[0] == "1. В Астане прошёл саммит ШОС"
    (english,) = [line.strip() for line in lines if line.strip().startswith("English:")]
    assert english.startswith("English: [ru] SCO · ") and all(n in english for n in ("Astana", "Tokayev", "Putin"))
    assert not [line for line in article_lines(1, {**russian, "language": "en"}) if "English:" in line]


# -- breaking stories ---------------------------------------------------------------------------------


SUMMIT = ("astana24-en-belarus", "astana24-en-putin-xi", "astana24-ru-summit", "astana24-ru-putin-xi",
          "astana24-zh-summit")  # fmt: skip


def test_a_story_reaching_three_languages_is_sent_once(tmp_path, httpserver):
    from evaluation.stories import labelled_items

    items = {i["id"]: i for i in labelled_items()}
    httpserver.expect_request("/breaking").respond_with_data("ok")
    hook = json_hook(httpserver, "/breaking")
    cfg = load_config(config_file(tmp_path, "", f'[breaking]\nhours = 48\nnotify = ["{hook}"]\n'))
    now = datetime(2024, 7, 4, 20)
    save_rows(cfg.warehouse_path, [_row_for(items[i]) for i in SUMMIT[:2]], [], "r1", now)
    cluster_stories(cfg.warehouse_path)
    assert check_and_alert(cfg, "r1", now).breaking == []  # English only, two outlets
    save_rows(cfg.warehouse_path, [_row_for(items[i]) for i in SUMMIT[2:]], [], "r2", now)
    cluster_stories(cfg.warehouse_path)
    broke = check_and_alert(cfg, "r2", now)
    assert len(broke.breaking) == 1 and [d.sent for d in broke.deliveries] == [True]
    (payload,) = posts(httpserver, "/breaking")
    assert payload["title"].startswith("silkwatch breaking: ")
    assert "5 articles from 5 outlets in 3 languages (en, ru, zh) within 48 hours" in payload["message"]
    assert "В Астане прошёл саммит ШОС" in payload["message"]
    save_rows(cfg.warehouse_path, [_row_for(items["astana24-zh-putin"])], [], "r3", now)  # it grows: no repeat
    cluster_stories(cfg.warehouse_path)
    assert check_and_alert(cfg, "r3", now).deliveries == [] and len(posts(httpserver, "/breaking")) == 1
    later = now + timedelta(days=3)  # outside the 48 hours: nothing is breaking
    assert check_and_alert(cfg, "r4", later).breaking == []
