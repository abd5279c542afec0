"""Exact-duplicate keys: equal for copies that differ only in typography and whitespace."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from silkwatch.parsers.dedupe import article_id_for, content_hash
from silkwatch.parsers.text import normalise_text


def test_typography_and_whitespace_do_not_change_the_hash():
    a = "Xi said: “China is ready” – and Tokayev agreed.\n\nThe talks   ended."
    b = 'Xi said: "China is ready" - and Tokayev agreed. The talks ended.'
    assert content_hash(a) == content_hash(b)


def test_different_text_different_hash():
    assert content_hash("Xi met Tokayev in Astana.") != content_hash("Xi met Rahmon in Dushanbe.")


def test_article_id_is_stable_and_short():
    h = content_hash("some text")
    assert article_id_for(h) == article_id_for(h) == h[:20]


@given(st.text())
def test_normalisation_is_idempotent(text):
    once = normalise_text(text)
    assert normalise_text(once) == once
