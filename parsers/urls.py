"""Canonical URLs: one spelling per page, so the same link under tracking parameters is one copy."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "ref", "ref_src",
                   "cmpid", "ncid", "ocid", "_ga", "spm", "share", "from", "utm"}  # fmt: skip
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_")
DEFAULT_PORTS = {"http": 80, "https": 443}


@cache
def _variants() -> dict:
    return tomllib.loads(resources.files("silkwatch.parsers").joinpath("rules/url_variants.toml").read_text("utf-8"))


def _strip_edition(host: str, path: str) -> tuple[str, str]:
    rules = _variants()
    changed = True
    while changed:  # until stable: canonical_url stays idempotent
        changed = False
        for prefix in rules["host_prefixes"]:
            if host.startswith(prefix) and host.count(".") >= 2:
                host, changed = host[len(prefix) :], True
        for suffix in rules["path_suffixes"]:
            if path.endswith(suffix) and len(path) > len(suffix):
                path, changed = path[: -len(suffix)] or "/", True
        if rules.get("amp_html") and path.endswith(".amp.html"):
            path, changed = path[: -len(".amp.html")] + ".html", True
    return host, path


def canonical_url(url: str) -> str:
    """Lowercase scheme and host, no default port, no fragment, no tracking parameters, sorted query;
    mobile and AMP editions folded onto the main one (rules/url_variants.toml).

    Idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``. A string that is not an
    absolute http(s) URL is returned stripped but otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return url
    host, path = _strip_edition(parts.hostname.lower().rstrip("."), parts.path or "/")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    dropped = TRACKING_PARAMS | {p.lower() for p in _variants()["edition_params"]}
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in dropped and not k.lower().startswith(TRACKING_PREFIXES)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def error_kind(url: str, error: str) -> str:
    """A fetch error without the URL's host in it ("cannot resolve its host: ..."), so feeds that
    fail the same way (all of them, offline) are reported as one kind of failure."""
    host = urlsplit(url).hostname
    return error.replace(host, "its host") if host else error
