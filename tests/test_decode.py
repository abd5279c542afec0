"""The one decoder (parsers/decode.py), fed real bytes through every branch.

Real bytes: the fixture feeds (GB2312, Big5, windows-1251, ISO-8859-1, one with no XML
declaration), feedparser's own encoding cases, and newspaper4k's Chinese pages (tests/fixtures).
An XML feed served as ``text/html`` is a document an HTML sniffer finds no declaration in: HTML
ignores the XML declaration, so its GB2312 bytes are "nothing declared".
"""

from __future__ import annotations

import pytest

from silkwatch.parsers.decode import decode, encoding_for, meta_charset
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
GB2312_FEED = (FEEDS / "acnnewswire_rss20_gb2312.xml").read_bytes()
CP1251_FEED = (FEEDS / "newsru_com_rss20_cp1251.xml").read_bytes()
XINHUA_PAGE = (FIXTURES / "newspaper4k" / "chinese_article_002.html").read_bytes()
GB2312_TITLE = "JCB 与中国银联（China UnionPay）完成ATM网关协议的签订"
CP1251_TITLE = "В Турции психически нездоровый мужчина"


def test_bom_comes_first():
    data = (FIXTURES / "feedparser" / "encoding" / "utf-16le-bom.xml").read_bytes()
    decoded = decode(data, "application/xml; charset=iso-8859-1", "xml")
    assert (decoded.encoding, decoded.encoding_from) == ("utf-16le", "bom")
    assert decoded.text.startswith("<?xml")
    utf8 = decode((FIXTURES / "feedparser" / "encoding" / "utf-8-bom.xml").read_bytes(), None, "html")
    assert (utf8.encoding, utf8.encoding_from) == ("utf-8", "bom") and not utf8.text.startswith("\ufeff")


def test_http_charset_is_used_when_the_page_declares_nothing():
    decoded = decode(CP1251_FEED, "text/html; charset=windows-1251")  # as HTML: its XML declaration is not read
    assert (decoded.encoding, decoded.encoding_from) == ("windows-1251", "http")
    assert CP1251_TITLE in decoded.text


def test_meta_charset_is_read_when_the_server_sends_none():
    decoded = decode(XINHUA_PAGE, "text/html")
    assert (decoded.encoding, decoded.encoding_from) == ("utf-8", "meta")
    assert "短缺药品" in decoded.text


def test_meta_prescan_forms():
    assert meta_charset(b'<html><head><meta charset="GB2312"></head>').name == "gb18030"
    http_equiv = b"<head><meta http-equiv='Content-Type' content='text/html; charset=gbk' />"
    assert meta_charset(http_equiv).name == "gb18030"
    assert meta_charset(b'<head><!-- <meta charset="big5"> --><meta charset="utf-8">').name == "utf-8"
    assert meta_charset(b'<head><meta charset="utf-16le">').name == "utf-8"  # WHATWG: a meta cannot say UTF-16
    assert meta_charset(b'<head><meta charset="x-unknown"></head><body><meta charset="big5">') is None
    late = b"<!--" + b" ad slot " * 200 + b"-->" + b"<script>var a = 1;</script>" * 40 + b'<meta charset="gb2312">'
    assert len(late) > 1024 and meta_charset(late).name == "gb18030"  # declared after the first 1,024 bytes


def test_xml_declaration_gb2312_is_read_as_gb18030():
    decoded = decode(GB2312_FEED, None, "xml")
    assert (decoded.encoding, decoded.encoding_from) == ("gb18030", "xml-declaration")
    assert GB2312_TITLE in decoded.text
    assert encoding_for("GB2312").codec == encoding_for("x-gbk").codec == "gb18030"


def test_iso_8859_1_is_read_as_windows_1252():
    data = (FIXTURES / "feedparser" / "encoding" / "http_text_xml_charset_overrides_encoding_2.xml").read_bytes()
    assert b"\x93" in data and b"encoding='iso-8859-1'" in data
    decoded = decode(data, None, "xml")
    assert (decoded.encoding, decoded.encoding_from) == ("windows-1252", "xml-declaration")
    assert "\u201ctest.\u201d" in decoded.text  # bytes 0x93 and 0x94 are quotes, not C1 controls
    assert encoding_for("latin1") == encoding_for("US-ASCII") == encoding_for("windows-1252")


@pytest.mark.parametrize(
    ("name", "encoding", "expected"),
    [
        ("acnnewswire_rss20_gb2312.xml", "gb18030", GB2312_TITLE),
        ("cnblog_org_rss092_gb2312.xml", "gb18030", "Picostation的PicoBlogger"),
        ("coolloud_org_tw_rss10_big5_malformed.xml", "big5", "1226檔下點交之後"),
        ("newsru_com_rss20_cp1251.xml", "windows-1251", CP1251_TITLE),
        ("golem_de_rss20_iso8859-1.xml", "windows-1252", "Red Dead Redemption 2"),
    ],
)
def test_nothing_declared_is_detected(name, encoding, expected):
    decoded = decode((FEEDS / name).read_bytes(), "text/html")  # as HTML: nothing declared
    assert (decoded.encoding, decoded.encoding_from, decoded.confident) == (encoding, "detected", True)
    assert expected in decoded.text


def test_feed_without_xml_declaration_is_detected():
    decoded = decode((FEEDS / "le_cercle_psy_rss20_noprolog_iso8859-1.xml").read_bytes(), None, "xml")
    assert (decoded.encoding, decoded.encoding_from) == ("windows-1252", "detected")
    assert "Perturbateurs endocriniens" in decoded.text and "é" in decoded.text


def test_a_declaration_that_does_not_decode_is_overruled_by_detection():
    decoded = decode(GB2312_FEED, "text/html; charset=utf-8")
    assert (decoded.encoding, decoded.encoding_from) == ("gb18030", "detected (declared utf-8 did not decode)")
    assert GB2312_TITLE in decoded.text


def test_a_declaration_that_decodes_to_mojibake_is_overruled_by_detection():
    decoded = decode(GB2312_FEED, "text/html; charset=iso-8859-1")
    assert decoded.encoding == "gb18030"
    assert decoded.encoding_from == "detected (declared windows-1252 decodes to mojibake)"
    assert GB2312_TITLE in decoded.text


def test_the_feed_declaration_wins_over_a_wrong_server_charset():
    decoded = decode(CP1251_FEED, "text/xml; charset=iso-8859-1", "xml")
    assert decoded.encoding == "windows-1251"
    assert decoded.encoding_from == "xml-declaration (http said windows-1252)"
    gb = decode(GB2312_FEED, "application/rss+xml; charset=utf-8", "xml")
    assert (gb.encoding, gb.encoding_from) == ("gb18030", "xml-declaration (http said utf-8, which did not decode)")


def test_utf8_bytes_under_a_legacy_label_are_utf8():
    decoded = decode(XINHUA_PAGE, "text/html; charset=iso-8859-1")
    assert (decoded.encoding, decoded.encoding_from) == ("utf-8", "meta (http said windows-1252, which did not decode)")
    label_only = decode("Рахмон в Пекине".encode(), "text/html; charset=iso-8859-1")
    assert (label_only.encoding, label_only.encoding_from) == (
        "utf-8",
        "detected (declared windows-1252, the bytes are UTF-8)",
    )


def test_damaged_utf8_keeps_its_text():
    damaged = XINHUA_PAGE.replace("国家卫生健康委".encode(), b"\xff\xfe\xc3(", 1)
    decoded = decode(damaged, "text/html; charset=utf-8")
    assert (decoded.encoding, decoded.encoding_from) == ("utf-8", "http")
    assert "\ufffd" in decoded.text and "短缺药品" in decoded.text


def test_plain_text_too_short_to_detect_is_not_confident():
    assert not decode("Café in Bishkek".encode("latin-1"), document="text").confident
    chinese = (FIXTURES / "newspaper4k" / "chinese_article_002.txt").read_text("utf-8")
    decoded = decode(chinese.encode("gb18030"), document="text")  # a Chinese text saved in the Windows default
    assert (decoded.encoding, decoded.text, decoded.confident) == ("gb18030", chinese, True)
