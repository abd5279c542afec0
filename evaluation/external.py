"""External evaluation corpora: public data sets with ground truth that silkwatch does not ship.

Each lives in its own folder under ``$SILKWATCH_EVAL_DATA`` (default: ``.eval-data/`` in the
checkout, ignored by git), obtained with the command its entry gives. The test suite never needs
them; ``make eval`` uses each one that is present and says, for each one that is not, how to get it.

Every corpus is read into the same record, ``LabelledPage``: the page's bytes exactly as published,
and whatever ground truth the corpus gives (clean body text, publication date).
"""

from __future__ import annotations

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

    @property
    def get(self) -> str:
        """The shell command that puts this corpus where the evaluations look for it."""
        folder = data_dir() / self.name
        return f"git clone {self.repository} {folder} && git -C {folder} checkout {self.commit}"


@dataclass(frozen=True)
class LabelledPage:
    corpus: str
    page_id: str
    language: str
    html: bytes  # as published: no charset fixed up, nothing re-encoded
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


_READERS = {"zh-cwced": _read_zh_cwced}
