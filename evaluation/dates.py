"""Publication dates on real pages, per language: right, wrong and missing, silkwatch vs trafilatura.

    SILKWATCH_EVAL_DATA=/work/eval-data python -m evaluation.dates [--pages]

Pages with a hand-read publication date (``evaluation/external.py``): zh-cwced (Chinese), htmldate's
evaluation set and newspaper4k's test pages (many languages; each page's language is detected).
Only labels that give a day count; labels of a month or a year, or unreadable ones, are skipped
and counted as such. A date is right when its day is the labelled one, either as the page states
it (in the zone it states or the outlet's) or in UTC as silkwatch stores it: the labels are
sometimes local days and sometimes UTC days, and a day that differs only by the zone is not wrong.
Wrong is a different day; missing is no date. ``--pages`` lists every wrong page. Some corpus
labels are not the page's first publication (an update, a print issue, a wiki's last edit):
``date_label_notes.toml`` lists those checked by reading the page, and they are counted apart as
"disputed" (still in "wrong").

Systems: silkwatch's page date (``parsers.pagedates.page_date`` on trafilatura's title and text,
as ``extract_page`` calls it, whether or not the text then passes the length rules), and
trafilatura's own date with its defaults (htmldate's extensive search; what silkwatch stored
before) and without the extensive search.

Pages are decoded as the pipeline decodes them (``parsers.decode``: BOM, ``<meta charset>``,
detection; the corpora keep no HTTP header), so that dates are measured, not mojibake.
"""

from __future__ import annotations

import re
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import trafilatura

from evaluation.external import CorpusMissing, LabelledPage, pages
from silkwatch.parsers.dates import date_from_url, local_day, outlet_zone, parse_stated, to_utc
from silkwatch.parsers.decode import decode
from silkwatch.parsers.extract import TRAFILATURA_DATE_PARAMS
from silkwatch.parsers.pagedates import page_date
from silkwatch.parsers.text import detect_language

CORPORA = ("zh-cwced", "htmldate-eval", "newspaper4k-0.9.6")
LANGUAGES = ("zh", "ru", "en")
RUN_DATE = datetime(2026, 1, 1)  # a fixed "today" for yearless dates, so figures do not drift


def label_day(label: str | None) -> date | None:
    """The day a label gives (``2005-5-7 21:23:57``, ``2020-06-07``); None for a month, a year or
    anything else (one zh-cwced label is an author's name)."""
    stated = parse_stated(label)
    return stated.value.date() if stated else None


@dataclass
class Judged:
    days: set[date]  # the days a date counts as (as stated, and in UTC); empty when there is none
    shown: str  # what the system gave, for the list of wrong pages


def silkwatch(text: str, page: LabelledPage, language: str) -> Judged:
    doc = trafilatura.bare_extraction(
        text, url=page.url, with_metadata=True, include_comments=False, date_extraction_params=TRAFILATURA_DATE_PARAMS
    )
    title, body = (doc.title, doc.text) if doc is not None else (None, None)
    dated = page_date(text, title, body, RUN_DATE).stated
    if dated is None:
        from_url = date_from_url(page.url or "")  # what the pipeline stores when a page states no date
        return Judged({from_url.date()} if from_url else set(), f"{from_url} from the URL")
    zone, why = outlet_zone(page.url, language)
    utc, how = to_utc(dated, zone, why)
    days = {dated.value.date(), utc.date()}
    if dated.has_time and zone is not None:
        days.add(local_day(utc, zone).date())
    if dated.has_time and zone is None and dated.zone is not None and dated.zone.utcoffset(None) == timedelta(0):
        # a UTC timestamp (metadata often gives one) says nothing of the outlet's zone, unknown here:
        # its day there is any day the moment falls on between UTC-12 and UTC+14
        days |= {(utc - timedelta(hours=12)).date(), (utc + timedelta(hours=14)).date()}
    return Judged(days, f"{utc:%Y-%m-%d %H:%M} UTC from {how}")


def trafilatura_date(extensive: bool) -> Callable[[str, LabelledPage, str], Judged]:
    params = None if extensive else TRAFILATURA_DATE_PARAMS

    def judge(text: str, page: LabelledPage, language: str) -> Judged:
        doc = trafilatura.bare_extraction(
            text, url=page.url, with_metadata=True, include_comments=False, date_extraction_params=params
        )
        found = label_day(doc.date) if doc is not None and doc.date else None
        return Judged({found} if found else set(), str(found))

    return judge


SYSTEMS = {
    "silkwatch": silkwatch,
    "trafilatura default": trafilatura_date(extensive=True),
    "trafilatura, no extensive search": trafilatura_date(extensive=False),
}


_KANA = re.compile(r"[\u3040-\u30ff]")


def page_language(page: LabelledPage, text: str) -> str | None:
    """The corpus's language, else silkwatch's guess from the page's text (Japanese, which shares
    Chinese characters, told apart by its kana)."""
    if page.language:
        return page.language
    body = " ".join(re.sub(r"(?is)<(script|style)\b.*?</\1\s*>|<[^>]+>", " ", text).split())[:5000]
    if len(_KANA.findall(body)) > 20:
        return "ja"
    return detect_language(body)


def label_notes() -> dict[tuple[str, str, str], str]:
    """(corpus, page, label) -> what the page states instead, from ``date_label_notes.toml``."""
    data = tomllib.loads((Path(__file__).with_name("date_label_notes.toml")).read_text("utf-8"))
    return {(n["corpus"], n["page"], n["label"]): n["page_states"] for n in data["label"]}


def evaluate() -> tuple[dict, list[str], list[str]]:
    """Counts by (language, system): pages, skipped, right, wrong, missing; wrong pages; missing corpora."""
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    wrong, missing_corpora = [], []
    disputed = label_notes()
    for corpus in CORPORA:
        try:
            corpus_pages = list(pages(corpus))
        except CorpusMissing as exc:
            missing_corpora.append(str(exc))
            continue
        for page in corpus_pages:
            text = decode(page.html).text
            language = page_language(page, text)
            if language not in LANGUAGES:
                continue
            want = label_day(page.date)
            for name, system in SYSTEMS.items():
                row = counts[(language, name)]
                row["pages"] += 1
                if want is None:
                    row["skipped"] += 1
                    continue
                got = system(text, page, language)
                if not got.days:
                    row["missing"] += 1
                elif want in got.days:
                    row["right"] += 1
                else:
                    row["wrong"] += 1
                    note = disputed.get((corpus, page.page_id, str(want)))
                    row["disputed"] += note is not None
                    if name == "silkwatch":
                        why = f"\n    label disputed: the page states {note}" if note else ""
                        wrong.append(f"{language} {corpus}/{page.page_id}: labelled {want}, got {got.shown}{why}")
    return counts, wrong, missing_corpora


def main() -> int:
    started = time.perf_counter()
    counts, wrong, missing_corpora = evaluate()
    for message in missing_corpora:
        print(f"skipped: {message}", file=sys.stderr)
    if not counts:
        print("dates: no corpus with dates found; set SILKWATCH_EVAL_DATA (see evaluation/external.py)")
        return 0
    print(f"publication dates on real pages ({', '.join(CORPORA)}); a day-precision label is right or wrong")
    print(
        f"{'language':<9}{'system':<34}{'pages':>6}{'skipped':>8}{'right':>6}{'wrong':>6}{'disputed':>9}{'missing':>8}"
    )
    for language in LANGUAGES:
        for name in SYSTEMS:
            row = counts.get((language, name))
            if row:
                print(
                    f"{language:<9}{name:<34}{row['pages']:>6}{row['skipped']:>8}{row['right']:>6}"
                    f"{row['wrong']:>6}{row['disputed']:>9}{row['missing']:>8}"
                )
    print("skipped: labels that give no day (a month, a year, none, or not a date); disputed: of the wrong,")
    print("labels that are not the first publication the page states (evaluation/date_label_notes.toml)")
    if "--pages" in sys.argv:
        print("\n".join(["silkwatch's wrong days:", *wrong]) if wrong else "silkwatch: no wrong day")
    print(f"({time.perf_counter() - started:.0f} s)")
    undisputed = {lang: counts[(lang, "silkwatch")]["wrong"] - counts[(lang, "silkwatch")]["disputed"]
                  for lang in LANGUAGES if (lang, "silkwatch") in counts}  # fmt: skip
    verdict = ", ".join(f"{lang} {n}" for lang, n in undisputed.items())
    print(f"silkwatch's wrong days, disputed labels aside: {verdict} (target: none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
