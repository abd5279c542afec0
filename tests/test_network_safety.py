"""Network safety: silkwatch connects only to public addresses, and only to the addresses it checked.

Every fetch here goes to 127.0.0.1 (pytest-httpserver) or is refused before any connection: names
are answered by an injected resolver, never by DNS, and no test ever dials another address.
"""

from __future__ import annotations

import ipaddress

import pytest

from silkwatch.flows.addresses import AddressRefused, checked_addresses, is_public, literal_address
from silkwatch.flows.config import ConfigError, config_from_dict
from silkwatch.flows.fetch import FetchPolicy, HostLimiter, fetch, make_client, policy_from_config

pytestmark = pytest.mark.reliability("network safety")


class Answers:
    """A resolver giving the listed answers on successive lookups (the last one from then on)."""

    def __init__(self, *answers: list[str]):
        self.answers, self.lookups = list(answers), []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def no_lookup(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} must not be looked up")


def get(url: str, **knobs):
    policy = FetchPolicy(retries=0, per_host_delay=0.0, read_timeout=2.0, total_timeout=5.0, **knobs)
    with make_client(policy) as client:
        return fetch(client, url, "feed", policy, HostLimiter(2, 0))


def assert_refused(result, address: str) -> None:
    assert result.status == "error" and not result.transient
    assert f"is {address}, not a public address" in result.error
    assert "allow_private_networks" in result.error


@pytest.mark.parametrize("answer", [["127.0.0.1"], ["::1"], ["127.0.0.2"], ["::1", "127.0.0.1"]])
def test_a_name_resolving_to_loopback_is_refused_and_never_dialled(httpserver, answer):
    httpserver.expect_request("/feed").respond_with_data("<rss/>")
    resolver = Answers(answer)
    result = get(f"http://feeds.example:{httpserver.port}/feed", resolver=resolver)
    assert_refused(result, answer[0])
    assert resolver.lookups == ["feeds.example"]
    assert httpserver.log == []  # nothing reached the server


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0.0.0.0", "224.0.0.1",  # noqa: S104
     "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1",
     "::ffff:169.254.169.254", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:a9fe:a9fe::1"],
)  # fmt: skip
def test_non_public_addresses_are_refused_without_dialling(address):
    """Checked as a resolver's answer: the check runs before any connection, so nothing is dialled."""
    assert not is_public(ipaddress.ip_address(address))
    with pytest.raises(AddressRefused, match="not a public address"):
        checked_addresses("metadata.example", 80, Answers([address]), allow_private=False)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_pass_the_check(address):
    assert is_public(ipaddress.ip_address(address))
    assert checked_addresses("news.example", 80, Answers([address]), allow_private=False) == [address]


def test_rebinding_connection_goes_to_the_checked_address(httpserver):
    """The name answers 127.0.0.1 (where the server is) first and 127.0.0.2 (nothing there) after: a
    fetcher that resolved again to connect would dial 127.0.0.2 and fail. Pinned, it succeeds, with
    one lookup, and the server sees the URL's host name in the Host header."""
    httpserver.expect_request("/feed").respond_with_data("<rss/>")
    resolver = Answers(["127.0.0.1"], ["127.0.0.2"])
    result = get(f"http://rebind.example:{httpserver.port}/feed", resolver=resolver, allow_private_networks=True)
    assert result.status == "ok", result.error
    assert resolver.lookups == ["rebind.example"]
    (request, _), *_ = httpserver.log
    assert request.headers["Host"] == f"rebind.example:{httpserver.port}"


def test_rebinding_under_the_default_policy_dials_the_checked_address(httpserver):
    """Default policy with the server's address allowed: the first answer passes the check, later
    answers would not; the connection uses the one lookup, so nothing unchecked is ever dialled."""
    httpserver.expect_request("/feed").respond_with_data("<rss/>")
    resolver = Answers(["127.0.0.1"], ["127.0.0.2"])
    result = get(
        f"http://rebind.example:{httpserver.port}/feed", resolver=resolver, allowed_private_addresses=("127.0.0.1",)
    )
    assert result.status == "ok", result.error
    assert resolver.lookups == ["rebind.example"]


def test_redirect_to_a_name_resolving_to_loopback_is_refused(httpserver):
    """The feed's own server is allowed (allowed_private_addresses); its redirect to a name that
    resolves to another loopback address is checked and refused before connecting."""
    httpserver.expect_request("/feed").respond_with_data(
        "", status=302, headers={"Location": f"http://internal.example:{httpserver.port}/secret"}
    )
    httpserver.expect_request("/secret").respond_with_data("secret")
    names = {"feeds.example": ["127.0.0.1"], "internal.example": ["127.0.0.2"]}
    result = get(
        f"http://feeds.example:{httpserver.port}/feed",
        resolver=lambda host, port: names[host],
        allowed_private_addresses=("127.0.0.1",),
    )
    assert_refused(result, "127.0.0.2")
    assert [request.path for request, _ in httpserver.log] == ["/feed"]


def test_redirect_to_a_loopback_literal_is_refused(httpserver):
    httpserver.expect_request("/feed").respond_with_data(
        "", status=302, headers={"Location": f"http://127.0.0.2:{httpserver.port}/secret"}
    )
    result = get(
        f"http://feeds.example:{httpserver.port}/feed",
        resolver=Answers(["127.0.0.1"]),
        allowed_private_addresses=("127.0.0.1/32",),
    )
    assert_refused(result, "127.0.0.2")
    assert [request.path for request, _ in httpserver.log] == ["/feed"]


@pytest.mark.parametrize(
    ("host", "address"),
    [("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"), ("2130706433", "127.0.0.1"), ("0x7f.1", "127.0.0.1"),
     ("017700000001", "127.0.0.1"), ("127.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("[::1]", "::1")],
)  # fmt: skip
def test_odd_spellings_of_loopback_are_refused(httpserver, host, address):
    """Each spelling is read as the C library reads it (so as it would be dialled), without DNS."""
    httpserver.expect_request("/feed").respond_with_data("<rss/>")
    assert literal_address(host.strip("[]")) == ipaddress.ip_address(address)
    result = get(f"http://{host}:{httpserver.port}/feed", resolver=no_lookup)
    assert result.status == "error" and "not a public address" in result.error
    assert httpserver.log == []


@pytest.mark.parametrize("host", ["localhost", "localhost.", "LocalHost", "feeds.localhost", "feeds.localhost."])
def test_localhost_names_are_refused_without_a_lookup(httpserver, host):
    httpserver.expect_request("/feed").respond_with_data("<rss/>")
    result = get(f"http://{host}:{httpserver.port}/feed", resolver=no_lookup)
    assert result.status == "error" and "a loopback name, not a public address" in result.error
    assert httpserver.log == []


def test_allow_private_networks_reaches_the_local_server(httpserver):
    httpserver.expect_request("/feed").respond_with_data("<rss/>")
    result = get(
        f"http://localhost:{httpserver.port}/feed", resolver=Answers(["127.0.0.1"]), allow_private_networks=True
    )
    assert (result.status, result.body) == ("ok", b"<rss/>")


def test_allowed_private_addresses_from_the_config(tmp_path):
    config = config_from_dict({"fetch": {"allowed_private_addresses": ["192.168.1.20", "10.8.0.0/16"]}}, tmp_path)
    policy = policy_from_config(config.fetch)
    assert policy.allowed_private_addresses == ("192.168.1.20", "10.8.0.0/16")
    assert not policy.allow_private_networks
    with pytest.raises(ConfigError, match=r"allowed_private_addresses: 'intranet' is not an address"):
        config_from_dict({"fetch": {"allowed_private_addresses": ["intranet"]}}, tmp_path)
