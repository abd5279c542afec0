"""Bytes -> text, decided as browsers decide: one decoder for pages, feeds and seeds.

The order (WHATWG Encoding Standard; HTML's encoding sniffing; XML 1.0 Appendix F for feeds):

1. a byte order mark (UTF-8, UTF-16; for XML and plain text also UTF-32): ``bom``;
2. the charset of the HTTP Content-Type: ``http``;
3. the document's own declaration: for HTML ``<meta charset>`` or ``http-equiv="Content-Type"``
   (the head, up to ``PRESCAN_BYTES``): ``meta``; for XML the encoding declaration (EBCDIC and
   BOM-less UTF-16/32 known by their first bytes): ``xml-declaration``;
4. detection: ``detected``.

Labels are read as the Encoding Standard says (``rules/encodings.toml``): GB2312 and GBK as
GB18030, ISO-8859-1 and US-ASCII as windows-1252, Big5 as Big5-HKSCS, and so on.

A declaration is checked against the bytes, not taken on trust:

- it must decode them (``_fits``); when it does not, the next declaration or detection is used:
  ``detected (declared gb18030 did not decode)``;
- well-formed UTF-8 with non-ASCII text is UTF-8 whatever a legacy label says (such bytes are never
  an accident of another encoding): ``detected (declared windows-1252, the bytes are UTF-8)``;
- when the HTTP charset and the document disagree and both decode, the detector decides between
  them: ``meta (http said windows-1252)``;
- a single-byte label over bytes that are more than ``MOJIBAKE_CHECK_SHARE`` above 0x7F (Western
  text has far fewer) is checked with the detector; a confident multi-byte (CJK) answer, or another
  script under a windows-1252 label, wins: ``detected (declared windows-1252 decodes to mojibake)``.

Detection (faust-cchardet, which tolerates the few invalid bytes real pages have; charset-normalizer
when cchardet answers Big5 or nothing, as it confuses GB text with Big5) runs only in these cases, so
a page that declares its encoding rightly costs one strict decode.
"""

from __future__ import annotations

import codecs
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

PRESCAN_BYTES = (
    32 * 1024
)  # WHATWG prescans 1,024 bytes; 4 of the 57 zh-cwced pages that declare do so later (up to byte 1,952)
DETECT_SAMPLE_BYTES = 16 * 1024  # cchardet's time grows faster than the input; 16 KiB decide as well as the whole page
MIN_EVIDENCE_BYTES = 16  # fewer non-ASCII bytes than this: a detector's answer is a guess (see ``Decoded.confident``)
MOJIBAKE_CHECK_SHARE = (
    0.02  # Western text in the fixtures is at most 1.7% bytes above 0x7F; Chinese pages 2.4% and more
)
MAX_INVALID_SHARE = 0.01  # a legacy multi-byte declaration holds with up to 1 invalid sequence per 100 characters
MULTI_BYTE = frozenset({"utf-8", "gb18030", "big5", "euc-jp", "iso-2022-jp", "shift_jis", "euc-kr"})
_HIGH_BYTES = bytes(range(0x80, 0x100))


@dataclass(frozen=True)
class Encoding:
    name: str  # the Encoding Standard's name, lower case (a Python codec's name for a label it does not know)
    codec: str  # the Python codec that decodes it


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the encoding the text was read in (``Encoding.name``)
    encoding_from: str  # why: bom, http, meta, xml-declaration or detected, with what was overruled
    confident: bool = True  # False: nothing declared and too few non-ASCII bytes for detection to be more than a guess


UTF8 = Encoding("utf-8", "utf-8")
WINDOWS_1252 = Encoding("windows-1252", "cp1252")


@cache
def _labels() -> dict[str, Encoding]:
    data = tomllib.loads(resources.files("silkwatch.parsers").joinpath("rules/encodings.toml").read_text("utf-8"))
    return {label: Encoding(item["name"], item["codec"]) for item in data["encoding"] for label in item["labels"]}


@cache
def encoding_for(label: str, ascii_compatible: bool = True) -> Encoding | None:
    """The encoding a label names: the Encoding Standard's table, else a Python codec of that name
    (``ascii_compatible``: one that reads ASCII as ASCII). None when unknown or unusable."""
    key = label.strip().strip("\"'").strip().lower()
    found = _labels().get(key)
    if found is None and key:
        try:
            python_name = codecs.lookup(key).name
            b"".decode(python_name)  # LookupError for a codec that is not a text encoding (base64, zlib ...)
            if ascii_compatible and b"<?xml encoding=x?>".decode(python_name) != "<?xml encoding=x?>":
                return None
        except (LookupError, UnicodeError, ValueError):
            return None
        found = _labels().get(python_name) or Encoding(python_name, python_name)
    return found if found and found.codec else None


_BOMS = (
    (codecs.BOM_UTF8, UTF8, ("html", "xml", "text")),
    (b"\xff\xfe\x00\x00", Encoding("utf-32le", "utf-32-le"), ("xml", "text")),
    (b"\x00\x00\xfe\xff", Encoding("utf-32be", "utf-32-be"), ("xml", "text")),
    (b"\xfe\xff", Encoding("utf-16be", "utf-16-be"), ("html", "xml", "text")),
    (b"\xff\xfe", Encoding("utf-16le", "utf-16-le"), ("html", "xml", "text")),
)
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))""", re.IGNORECASE)
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_BODY = re.compile(rb"<body[\s>]", re.IGNORECASE)
_META = re.compile(rb"<meta[\s/]([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_XML_DECLARATION = re.compile(r"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._:-]*)["']""")
_XML_WITHOUT_BOM = (  # XML 1.0 Appendix F: the first bytes of "<?xml" say the encoding family
    (b"\x00\x00\x00\x3c", Encoding("utf-32be", "utf-32-be")),
    (b"\x3c\x00\x00\x00", Encoding("utf-32le", "utf-32-le")),
    (b"\x00\x3c\x00\x3f", Encoding("utf-16be", "utf-16-be")),
    (b"\x3c\x00\x3f\x00", Encoding("utf-16le", "utf-16-le")),
)
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC: the declaration is read in cp037 to find which EBCDIC


def charset_label(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, as written."""
    found = _CHARSET_PARAM.search(content_type.partition(";")[2]) if content_type else None
    return next((g for g in found.groups() if g is not None), None) if found else None


def meta_charset(data: bytes) -> Encoding | None:
    """The encoding an HTML page's ``<meta charset>`` or ``http-equiv="Content-Type"`` declares, in
    its head (up to ``PRESCAN_BYTES``; comments skipped), read as WHATWG's prescan reads it."""
    head = data[:PRESCAN_BYTES]
    body = _BODY.search(head)
    head = _COMMENT.sub(b"", head[: body.start()] if body else head)
    for meta in _META.finditer(head):
        attributes: dict[bytes, bytes] = {}
        for attribute in _ATTRIBUTE.finditer(meta.group(1)):
            value = next((g for g in attribute.groups()[1:] if g is not None), b"")
            attributes.setdefault(attribute.group(1).lower(), value)
        label = attributes.get(b"charset")
        if label is None and attributes.get(b"http-equiv", b"").strip().lower() == b"content-type":
            label = charset_label(";" + attributes.get(b"content", b"").decode("ascii", "replace"))
            label = label.encode("ascii", "replace") if label else None
        encoding = encoding_for(label.decode("ascii", "replace")) if label else None
        if encoding is not None:
            return UTF8 if encoding.name.startswith("utf-16") else encoding  # as WHATWG: a meta cannot say UTF-16
    return None


def xml_encoding(data: bytes) -> Encoding | None:
    """The encoding an XML document's first bytes and encoding declaration say."""
    head = data[:1024]
    for signature, encoding in _XML_WITHOUT_BOM:
        if head.startswith(signature):
            return encoding
    ebcdic = head.startswith(_EBCDIC_XML)
    declared = _XML_DECLARATION.match(head.decode("cp037" if ebcdic else "latin-1"))
    return encoding_for(declared.group(1), ascii_compatible=not ebcdic) if declared else None


def decode(data: bytes, content_type: str | None = None, document: str = "html") -> Decoded:
    """``data`` as text, with the encoding used and why. ``document``: "html", "xml" or "text"
    (plain text: only a BOM or detection)."""
    for bom, encoding, documents in _BOMS:
        if document in documents and data.startswith(bom):
            return Decoded(data[len(bom) :].decode(encoding.codec, "replace"), encoding.name, "bom")
    declared: list[tuple[Encoding, str]] = []
    label = charset_label(content_type)
    http = encoding_for(label) if label else None
    if http is not None:
        declared.append((http, "http"))
    own = meta_charset(data) if document == "html" else xml_encoding(data) if document == "xml" else None
    if own is not None:
        declared.append((own, "meta" if document == "html" else "xml-declaration"))
    return _choose(data, declared)


def _choose(data: bytes, declared: list[tuple[Encoding, str]]) -> Decoded:
    fitting: list[tuple[Encoding, str, str]] = []
    failed: list[str] = []
    decoded: dict[str, str | None] = {}  # by codec: the server and the page often name the same one
    for encoding, source in declared:
        if encoding.codec not in decoded:
            decoded[encoding.codec] = _fits(data, encoding.codec)
        text = decoded[encoding.codec]
        if text is not None:
            fitting.append((encoding, source, text))
        else:
            failed.append(f"{source} said {encoding.name}, which did not decode")
    if not fitting:
        return detect(data, f"declared {declared[0][0].name} did not decode" if declared else None)
    encoding, source, text = fitting[0]
    if failed:
        source = f"{source} ({'; '.join(failed)})"
    utf8 = None if encoding.name == "utf-8" or data.isascii() else _fits(data, "utf-8", strict=True)
    if utf8 is not None:
        agreeing = next((f for f in fitting if f[0].name == "utf-8"), None)
        if agreeing is not None:
            return Decoded(utf8, "utf-8", f"{agreeing[1]} ({source} said {encoding.name})")
        return Decoded(utf8, "utf-8", f"detected (declared {encoding.name}, the bytes are UTF-8)")
    rivals = [f for f in fitting[1:] if f[2] is not text and f[2] != text]
    if rivals:  # the server and the document disagree, and both decode: the bytes decide
        guess = detect(data)
        winner = next((f for f in (fitting[0], *rivals) if f[2] == guess.text), fitting[0])
        loser = rivals[0] if winner is fitting[0] else fitting[0]
        return Decoded(winner[2], winner[0].name, f"{winner[1]} ({loser[1]} said {loser[0].name})")
    if encoding.name not in MULTI_BYTE and _high_share(data) > MOJIBAKE_CHECK_SHARE:
        guess = detect(data)
        if (
            guess.confident
            and guess.text != text
            and (guess.encoding in MULTI_BYTE or encoding.name == WINDOWS_1252.name)
        ):
            return Decoded(guess.text, guess.encoding, f"detected (declared {encoding.name} decodes to mojibake)")
    return Decoded(text, encoding.name, source)


def _fits(data: bytes, codec: str, strict: bool = False) -> str | None:
    """``data`` decoded with ``codec``, or None when the bytes are not in it. A damaged copy still
    is: UTF-8 with at least as many well-formed multi-byte characters as invalid bytes, another
    encoding with up to ``MAX_INVALID_SHARE`` invalid sequences per character; those become U+FFFD."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        if strict:
            return None
    except LookupError:
        return None
    text = data.decode(codec, "replace")
    invalid = text.count("\ufffd")
    well_formed = len(text) - len(text.encode("ascii", "ignore")) - invalid  # non-ASCII characters read
    if codec == "utf-8":
        return text if well_formed >= invalid else None
    return text if invalid <= MAX_INVALID_SHARE * max(well_formed, 1) else None


def _high_share(data: bytes) -> float:
    return (len(data) - len(data.translate(None, _HIGH_BYTES))) / max(len(data), 1)


def detect(data: bytes, declared_note: str | None = None) -> Decoded:
    """The encoding of bytes whose declarations are missing or wrong, from the bytes alone."""
    why = f"detected ({declared_note})" if declared_note else "detected"
    if data.isascii():
        return Decoded(data.decode("ascii"), "utf-8", why)
    utf8 = _fits(data, "utf-8")
    if utf8 is not None:
        return Decoded(utf8, "utf-8", why)
    encoding = _guess(data)
    confident = len(data) - len(data.translate(None, _HIGH_BYTES)) >= MIN_EVIDENCE_BYTES
    if encoding is None:  # WHATWG's fallback when nothing is known
        return Decoded(data.decode("cp1252", "replace"), WINDOWS_1252.name, why, confident=False)
    return Decoded(data.decode(encoding.codec, "replace"), encoding.name, why, confident)


def _guess(data: bytes) -> Encoding | None:
    import cchardet  # imported on first use: most pages never need a detector
    import charset_normalizer

    label = cchardet.detect(data[:DETECT_SAMPLE_BYTES])["encoding"]
    encoding = encoding_for(label) if label else None
    if encoding is None or encoding.name in ("big5", "utf-8"):
        best = charset_normalizer.from_bytes(data).best()
        encoding = (encoding_for(best.encoding) if best else None) or encoding
    if encoding is not None and encoding.name == "utf-8":
        return None  # not UTF-8 (checked before): the detectors have no answer
    # Detectors cannot tell Latin code pages apart on news-length text (charset-normalizer read 41 of
    # 48 Western feed items as cp1250, cp775 or hp-roman8); windows-1252 is WHATWG's fallback.
    latin = encoding is not None and encoding.name != WINDOWS_1252.name and _latin_only(data, encoding.codec)
    return WINDOWS_1252 if latin and _latin_only(data, WINDOWS_1252.codec) else encoding


def _latin_only(data: bytes, codec: str) -> bool:
    """Every non-ASCII letter of ``data`` read with ``codec`` is a Latin letter."""
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return False
    letters = {c for c in text if c >= "\x80" and c.isalpha()}
    return all(unicodedata.name(c, "").startswith("LATIN") for c in letters)
