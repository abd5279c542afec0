"""The cleaner on the seeds (exact expectations) and on corpora text with boilerplate injected."""

from __future__ import annotations

import random

import pytest

from parsers.clean import clean_text, load_line_rules, match_line_rule
from parsers.text import collapse_whitespace
from tests.conftest import SEEDS

# What the cleaner must remove from each seed, by (rule, start of line). Everything else stays.
EXPECTED_REMOVED = {
    "000_973e75babbcdd9fa.txt": [],
    "001_ca2344aa02f0cd64.txt": [
        ("headline", "China's top diplomat Wang Yi vows"),
        ("platform promo", "Do you have questions about the biggest topics"),
        ("originally appeared", "This article originally appeared in the South China Morning Post"),
        ("copyright", "Copyright (c) 2024. South China Morning Post Publishers Ltd."),
    ],
    "002_dc2f72f61a3a018e.txt": [
        ("navigation", "Categories Tajikistan"),
        ("headline", "The 2nd China-Central Asia summit addresses"),
        ("headline", "The 2nd China-Central Asia summit addresses"),
        ("comment form", "Leave a Reply"),
        ("after 'Leave a Reply'", "Your email address will not be published."),
    ],
    "003_53eca7c8ac1a35d1.txt": [
        ("headline", "China’s Xi hails ‘unique’ links with Kazakhstan"),
        ("repeated line (caption, link or headline)", "Chinese President Xi Jinping arrives in Kazakhstan"),
        ("repeated line (caption, link or headline)", "Chinese President Xi Jinping arrives in Kazakhstan"),
        ("read more", "Read More"),
        ("comment form", "Leave a Reply"),
    ],
    "004_486398540443305b.txt": [
        ("site slogan", "Eplly is Your Ultimate Source"),
        ("site banner", "—— 《 Eplly • Com 》"),
        ("headline", "Xi Says China Ready to Help Central Asia Boost Defense, Security"),
        ("view counter", "Views: 5003"),
        ("date line", "2023-05-19 11:25"),
        ("teaser repeats the next paragraph", "President Xi Jinping said China is ready to help"),
        ("credit line", "--With assistance from Jing Li."),
        ("related links", "You Might Like..."),
    ],
}
TITLES = {
    "001_ca2344aa02f0cd64.txt": "China's top diplomat Wang Yi vows stronger security, anti-terror ties with Tajikistan",
    "002_dc2f72f61a3a018e.txt": "The 2nd China-Central Asia summit addresses the most important issues related to the "
    "expansion of cooperation",
    "003_53eca7c8ac1a35d1.txt": "China’s Xi hails ‘unique’ links with Kazakhstan, ‘looks forward’ to SCO summit",
    "004_486398540443305b.txt": "Xi Says China Ready to Help Central Asia Boost Defense, Security",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_REMOVED))
def test_seed_boilerplate_removed_and_story_kept(name):
    text = (SEEDS / name).read_text("utf-8")
    cleaned = clean_text(text, title=TITLES.get(name))
    got = [(r.rule, r.text) for r in cleaned.removed]
    expected = EXPECTED_REMOVED[name]
    assert len(got) == len(expected), got
    for (rule, line), (want_rule, want_start) in zip(got, expected, strict=True):
        assert rule == want_rule
        assert line.startswith(want_start)
    # every other line of the seed is in the clean text, in order
    removed_lines = {r.line_no for r in cleaned.removed}
    story = [collapse_whitespace(raw) for no, raw in enumerate(text.splitlines(), 1) if no not in removed_lines]
    assert [line for line in story if line] == cleaned.paragraphs


def test_short_sentences_and_quotes_are_kept():
    text = "“Intimate brother”\n\nHe said: “No.”\n\nThat was all.\n\nShare\n\nThe talks ended on Friday."
    cleaned = clean_text(text)
    assert cleaned.paragraphs == [
        "“Intimate brother”",
        "He said: “No.”",
        "That was all.",
        "The talks ended on Friday.",
    ]
    assert [r.rule for r in cleaned.removed] == ["share line"]


def test_end_marker_in_first_half_does_not_cut_the_story():
    text = "Related\n\nFirst paragraph of the story.\n\nSecond paragraph.\n\nThird paragraph."
    cleaned = clean_text(text)
    assert cleaned.paragraphs == ["First paragraph of the story.", "Second paragraph.", "Third paragraph."]


def test_outlet_captured_from_footer_not_from_story():
    text = (
        "South China Morning Post (SCMP) reports that the talks went well.\n"
        "Copyright © 2024 Example Media Group Ltd. All rights reserved."
    )
    cleaned = clean_text(text)
    assert cleaned.captures["outlet"] == "Example Media Group"
    assert cleaned.paragraphs == ["South China Morning Post (SCMP) reports that the talks went well."]


INLINE_BOILERPLATE = [
    "Share this article",
    "Facebook Twitter WhatsApp Email",
    "Views: 1,204",
    "Read More",
    "Sign up for our daily newsletter to get the top stories",
    "Photo: Reuters",
]
FOOTER = [
    "This story originally appeared in The Example Times.",
    "Copyright © 2019 Example News Ltd. All rights reserved.",
    "Leave a Reply",
    "Your email address will not be published.",
]


def test_injected_boilerplate_removed_from_real_corpora_text(corpora_pages):
    """Boilerplate scattered through 50 real bodies goes; every paragraph the cleaner kept before stays."""
    rng = random.Random(7)
    kept_total = removed_total = 0
    for page in corpora_pages.values():
        paragraphs = [collapse_whitespace(p) for p in page["articleBody"].split("\n") if p.strip()]
        original = clean_text("\n\n".join(paragraphs)).paragraphs
        injected = ["Officials at the ceremony in a file picture (Photo: Example Agency)", *original]
        for line in rng.sample(INLINE_BOILERPLATE, 3):
            injected.insert(rng.randrange(1, len(injected) + 1), line)
        cleaned = clean_text("\n\n".join([*injected, *FOOTER]))
        assert cleaned.paragraphs == original, page["url"]
        kept_total += len(original)
        removed_total += len(cleaned.removed)
    assert kept_total > 500
    assert removed_total == len(corpora_pages) * (1 + 3 + len(FOOTER))


def test_real_corpora_bodies_lose_almost_nothing(corpora_pages):
    """The reference bodies are clean text: the cleaner removes at most a credit line here and there."""
    removed = [r for page in corpora_pages.values() for r in clean_text(page["articleBody"]).removed]
    total = sum(len([p for p in page["articleBody"].split("\n") if p.strip()]) for page in corpora_pages.values())
    print(f"\ncleaner on {len(corpora_pages)} reference bodies: removed {len(removed)} of {total} lines")
    for r in removed:
        print(f"  {r.rule}: {r.text[:80]}")
    assert len(removed) <= 0.01 * total


def test_rules_file_errors_name_the_rule(tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text("[[line]]\nname = 'broken'\npattern = '(unclosed'\n", "utf-8")
    with pytest.raises(ValueError, match=r"rules.toml: rule 1 \(broken\)"):
        load_line_rules(bad)


@pytest.mark.parametrize(
    "line",
    [
        "In a statement, the ministry said it would share data with Kazakhstan.",
        "Home prices in Almaty rose 12 per cent, the bank said.",
        "Search teams found the missing climbers on Sunday.",
        "The photo opportunity was cancelled.",
        "Copyright disputes between the two firms went to court in Astana.",
    ],
)
def test_story_sentences_are_not_boilerplate(line):
    assert match_line_rule(line) is None
