"""``parsers.extract.page_author``: trafilatura's ``extract_author`` in one pass, with its answers."""

from __future__ import annotations

import gzip
import hashlib

import pytest
import trafilatura
from trafilatura import metadata
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

from silkwatch.parsers.extract import page_author
from tests.conftest import FIXTURES

# sha256 of trafilatura 2.3.1's AUTHOR_DISCARD_XPATHS and AUTHOR_XPATHS (their .path, one a line),
# which parsers/extract.py writes out as tests on one element: a new trafilatura that changes them
# fails here, and the tests there are rewritten from its XPaths.
TRAFILATURA_AUTHOR_XPATHS = "29298d1fa7279c607cd343aa1c4a80736b0596b305bfd93ea59b6de61624f264"

PAGES = {
    "a byline span": '<div><span class="byline">By Jane Doe</span></div>',
    "an author link in a sidebar is pruned": (
        '<div class="sidebar"><a rel="author">Side Bar</a></div><p class="author-name">Main Writer</p>'
    ),
    "an author whose span holds a date": '<span class="author">Jane Doe <time>2024</time> in Paris</span>',
    "a <rel> child": '<div><p><rel>me</rel>Mark Author</p></div><div id="zuozhe">张三</div>',
    "an itemprop": '<h3 itemprop="creator author">Ivan Petrov</h3>',
    "a name too long, then a short one": f'<div class="author">{"word " * 40}</div><span id="Author">Ann Lee</span>',
    "the root's class": '<html class="author"><body><p>Some text here</p></body></html>',
    "an <author> element": "<body><author>Li Wei</author></body>",
    "comments are pruned": '<div id="comments"><span class="author">Commenter One</span></div>',
    "no author": "<p>Nothing to see.</p>",
}


def test_the_xpaths_written_out_are_trafilaturas():
    paths = "\n".join(x.path for x in [*AUTHOR_DISCARD_XPATHS, *AUTHOR_XPATHS])
    assert hashlib.sha256(paths.encode()).hexdigest() == TRAFILATURA_AUTHOR_XPATHS


@pytest.mark.parametrize("case", PAGES)
def test_page_author_answers_as_trafilatura(case):
    tree = trafilatura.load_html(f"<html><body>{PAGES[case]}</body></html>")
    assert page_author(tree) == metadata.extract_author(tree)


def test_page_author_answers_as_trafilatura_on_real_pages():
    found = 0
    for path in sorted((FIXTURES / "corpora_pages").glob("*.html.gz")):
        tree = trafilatura.load_html(gzip.decompress(path.read_bytes()).decode("utf-8"))
        expected = metadata.extract_author(tree)
        found += expected is not None
        assert page_author(tree) == expected, path.name
    assert found >= 10  # the comparison is about pages that have authors
