"""feedparser's own ill-formed and encoding test feeds, served from 127.0.0.1 and read by silkwatch.

Each case (``tests/fixtures/feedparser/``, see its README) goes through silkwatch's real path: the
fetcher, then ``parse_feed`` inside ``check_feed``. silkwatch must never raise and must give either
entries (maybe none: most cases are a feed with a title only) or a failure with its reason. Then the
case's own ``Expect:`` expression, evaluated on feedparser's result for the bytes and content type
silkwatch used, must hold, except for the differences listed (and explained) in the README.
"""

from __future__ import annotations

import ast
import codecs
import importlib.util
import mimetypes
import re
from pathlib import Path

import feedparser
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from silkwatch.flows.feeds import check_feed
from silkwatch.flows.fetch import FetchPolicy, HostLimiter
from silkwatch.parsers.feeds import feedparser_result
from tests.conftest import FIXTURES

CASES_DIR = FIXTURES / "feedparser"
CASES = sorted(str(p.relative_to(CASES_DIR)) for p in CASES_DIR.rglob("*.xml"))
_HEADER = re.compile(rb"^Header:\s+([^:]+):(.+)$", re.MULTILINE)  # as feedparser's tests/runtests.py reads them
_SKIP = re.compile(rb"SkipUnless:\s*(.*?)\n")
_EXPECT = re.compile(rb"Description:\s*(.*?)\s*Expect:\s*(.*)\s*-->")
_SKIP_FORM = re.compile(r"__import__\('(\w+)'\)(?:\.lookup\('([\w.-]+)'\))?")  # the rest: a Python 2 version test
_BOMS = (  # feedparser's runtests.py convert_to_utf8: how to read the header comment of a UTF-16/32 or EBCDIC case
    (b"\x4c\x6f\xa7\x94", "cp037", 0), (b"\x00\x00\xfe\xff", "utf-32be", 0), (b"\xff\xfe\x00\x00", "utf-32le", 0),
    (b"\x00\x00\x00\x3c", "utf-32be", 0), (b"\x3c\x00\x00\x00", "utf-32le", 0), (b"\x00\x3c\x00\x3f", "utf-16be", 0),
    (b"\x3c\x00\x3f\x00", "utf-16le", 0), (b"\xfe\xff", "utf-16be", 2), (b"\xff\xfe", "utf-16le", 2),
    (b"\xef\xbb\xbf", "utf-8", 3),
)  # fmt: skip

# Cases whose Expect does not hold on what silkwatch parsed, on purpose: see the README's table.
DIFFERENT_ON_PURPOSE = {
    # silkwatch turns feedparser's HTML sanitizer off (it makes plain text of summaries itself).
    "encoding/bozo_linenoise.xml",
}


def serve_case(request: Request) -> Response:
    """A case with the headers its ``Header:`` lines give, as feedparser's test server serves it;
    the other cases (feedparser parses them from a file) come with no Content-Type at all."""
    path = CASES_DIR / request.path.lstrip("/")
    data = path.read_bytes()
    headers = {k.decode().strip(): v.decode().strip() for k, v in _HEADER.findall(data)}
    if "http" in path.name:
        headers.setdefault("Content-type", mimetypes.guess_type(path.name)[0] or "application/xml")
    response = Response(data, status=int(headers.pop("Status", 200)))
    del response.headers["Content-Type"]  # werkzeug's default text/plain: only what the case says
    for key, value in headers.items():
        response.headers[key] = value
    return response


@pytest.fixture(scope="module")
def case_server():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile("^/")).respond_with_handler(serve_case)
    server.start()
    yield server.url_for("").rstrip("/")
    server.clear()
    server.stop()


POLICY = FetchPolicy(allow_private_networks=True, retries=0, per_host_delay=0.0, read_timeout=5.0, total_timeout=10.0)
LIMITER = HostLimiter(POLICY.per_host_concurrency, 0.0)

_SAFE_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare, ast.Eq, ast.NotEq,
    ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.Subscript, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.Call,
    ast.Tuple, ast.List, ast.Dict,
)  # fmt: skip
_SAFE_CALLS = {"ord", "isinstance", "len", "get"}


def safe_eval(expression: str, result: feedparser.FeedParserDict) -> bool:
    """A case's Expect, evaluated only if it is a plain comparison over the result (no dunder
    attributes, no calls but ord/isinstance/len/.get): the fixture files are data, not code."""
    tree = ast.parse(expression, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _SAFE_NODES):
            raise ValueError(f"unsafe {type(node).__name__} in Expect: {expression}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ValueError(f"private attribute in Expect: {expression}")
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name not in _SAFE_CALLS:
                raise ValueError(f"call to {name} in Expect: {expression}")
    names = {"__builtins__": {}, "ord": ord, "isinstance": isinstance, "len": len, "feedparser": feedparser}
    return bool(eval(compile(tree, "<Expect>", "eval"), names, dict(result)))  # noqa: S307 - checked above


def header_bytes(data: bytes) -> bytes:
    """The case as UTF-8, so that its Description/Expect comment can be read."""
    for bom, encoding, skip in _BOMS:
        if data.startswith(bom):
            return data[skip:].decode(encoding, errors="replace").encode("utf-8")
    return data


def runs_here(data: bytes) -> bool:
    """The case's ``SkipUnless`` (an import or a codec lookup), as feedparser's runner applies it."""
    found = _SKIP.search(data)
    if not found:
        return True
    form = _SKIP_FORM.match(found.group(1).decode().strip())
    assert form, f"unknown SkipUnless form: {found.group(1)!r}"
    if importlib.util.find_spec(form.group(1)) is None:
        return False
    try:
        if form.group(2):
            codecs.lookup(form.group(2))
    except LookupError:
        return False
    return True


@pytest.mark.reliability("hostile feed")
@pytest.mark.parametrize("case", CASES)
def test_feedparser_case(case_server, case):
    data = (CASES_DIR / case).read_bytes()
    url = f"{case_server}/{case}"
    outcome = check_feed({"url": url, "name": case}, None, POLICY, LIMITER)  # never raises
    assert outcome.result.http_status == 200
    if outcome.ok:
        assert outcome.error is None
        assert all(isinstance(e.title, str) and isinstance(e.summary, str) for e in outcome.entries)
    else:
        assert outcome.error and outcome.result.status == "error"  # a failure, with its reason
    header = header_bytes(data)
    description, expect = (s.decode("utf-8").strip() for s in _EXPECT.search(header).groups())
    if not runs_here(header):
        pytest.skip(f"feedparser skips it here too (SkipUnless): {description}")
    parsed = feedparser_result(data, outcome.result.final_url, outcome.result.content_type)
    holds = safe_eval(expect, parsed)
    if case in DIFFERENT_ON_PURPOSE:
        assert not holds, f"{case} now meets feedparser's Expect; take it off DIFFERENT_ON_PURPOSE"
    else:
        assert holds, f"{case}: {description}: Expect {expect!r} does not hold"


def test_every_case_is_here():
    """The fixtures are the sdist's tests/illformed and tests/encoding, complete (see the README)."""
    assert len([c for c in CASES if c.startswith("illformed/")]) == 19
    assert len([c for c in CASES if c.startswith("encoding/")]) == 219
    assert (CASES_DIR / "LICENSE").exists()
    assert set(DIFFERENT_ON_PURPOSE) <= set(CASES)
    assert Path(CASES_DIR / "README.md").exists()
