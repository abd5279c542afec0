"""Golden files of extraction: for each corpora page, the clean text and metadata silkwatch stores.

``tests/golden/extraction/<id>.txt`` is what ``parsers.extract.extract_page`` gives for
``tests/fixtures/corpora_pages/<id>.html.gz``: a header of metadata, then the clean text. A page
that changes fails with a diff of that page alone (averages over the corpus hide one page's
regression). After a change to extraction or cleaning that is meant, regenerate them on purpose
with ``make golden`` (``pytest tests/test_golden.py --regen-golden``) and review ``git diff``.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import json
from datetime import datetime

import pytest

from tests.conftest import FIXTURES, ROOT

PAGES = FIXTURES / "corpora_pages"
GOLDEN = ROOT / "tests" / "golden" / "extraction"
MANIFEST = json.loads((PAGES / "manifest.json").read_text("utf-8"))
# a yearless dateline takes its year from here (extract_page's context): fixed, so the files do not age
CONTEXT = datetime(2020, 1, 1)


def golden_text(page_id: str) -> str:
    """The golden file's content for one page, as extraction gives it now."""
    from silkwatch.parsers.extract import extract_page

    page = gzip.decompress((PAGES / f"{page_id}.html.gz").read_bytes())
    url = MANIFEST[page_id]["url"]
    got = extract_page(page, url, "text/html", CONTEXT)
    lines = [f"# parsers.extract.extract_page of {page_id} (make golden regenerates this file)", f"url: {url}"]
    if got is None:
        return "\n".join([*lines, "extracted: nothing (not an article)"]) + "\n"
    date = None
    if got.date is not None:
        zone = f" {got.date.zone}" if got.date.zone is not None else ""
        time = f"{got.date.value:%Y-%m-%d %H:%M}" if got.date.has_time else f"{got.date.value:%Y-%m-%d}"
        date = f"{time}{zone} ({got.date.found}: {got.date.raw!r})"
    fields = {
        "title": got.title, "author": got.author, "date": date, "date_note": got.date_note,
        "sitename": got.sitename, "canonical_url": got.canonical_url,
        "encoding": f"{got.encoding} ({got.encoding_from})",
    }  # fmt: skip
    lines += [f"{name}: {value}" for name, value in fields.items() if value is not None]
    lines += [f"removed: line {r.line_no} [{r.rule}] {r.text}" for r in got.removed]
    return "\n".join([*lines, "---", got.text]) + "\n"


def test_every_page_has_its_golden_file_and_is_the_corpus_page():
    ids = sorted(p.name.removesuffix(".html.gz") for p in PAGES.glob("*.html.gz"))
    assert ids == sorted(MANIFEST) and len(ids) == 50
    for page_id in ids:
        page = gzip.decompress((PAGES / f"{page_id}.html.gz").read_bytes())
        assert hashlib.sha256(page).hexdigest() == MANIFEST[page_id]["html_sha256"], page_id
    assert sorted(p.stem for p in GOLDEN.glob("*.txt")) == ids


@pytest.mark.parametrize("page_id", sorted(MANIFEST))
def test_extraction_matches_golden_file(page_id, request):
    path = GOLDEN / f"{page_id}.txt"
    now = golden_text(page_id)
    if request.config.getoption("--regen-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(now, "utf-8")
        return
    assert path.exists(), f"{path.name}: no golden file; make golden writes it"
    expected = path.read_text("utf-8")
    if now != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), now.splitlines(), f"golden/{path.name}", "extracted now", lineterm="", n=1
        )
        pytest.fail("extraction changed (if meant: make golden, then review git diff)\n" + "\n".join(diff))


def test_page_metadata_is_trafilaturas_for_what_silkwatch_reads():
    """``parsers.extract.page_metadata`` skips the parts of trafilatura's ``extract_metadata`` that
    silkwatch never reads (htmldate, categories, tags, licence): what it does read must be the same."""
    import trafilatura

    from silkwatch.parsers.decode import decode
    from silkwatch.parsers.extract import page_metadata

    fields = ("title", "author", "sitename", "url")
    for page_id, entry in MANIFEST.items():
        tree = trafilatura.load_html(decode(gzip.decompress((PAGES / f"{page_id}.html.gz").read_bytes())).text)
        ours, theirs = page_metadata(tree, entry["url"]), trafilatura.extract_metadata(tree, entry["url"])
        assert [getattr(ours, f) for f in fields] == [getattr(theirs, f) for f in fields], page_id
