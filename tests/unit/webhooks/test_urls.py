"""The SSRF rule for webhook URLs (service/webhooks/urls.py): what is refused, and what the allow-list lets through."""

from __future__ import annotations

import pytest

from service.errors import InvalidInput
from service.webhooks.urls import UrlPolicy, UrlRefused

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.8.9.1:8080/hook",
    "http://[::1]/hook",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "http://localhost:9000/hook",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        await UrlPolicy([]).check(url)
    assert refused.value.code == "webhook_url_refused"
    assert "PROMPTER_WEBHOOK_ALLOWED_HOSTS" in refused.value.detail


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://x/",
        "http://",
        "http://user:pw@example.com/",
        "http://[::1",
    ],
)
def test_only_plain_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        UrlPolicy([]).parse(url)
    assert invalid.value.code == "invalid_webhook_url"


async def test_a_public_address_is_accepted_and_pinned() -> None:
    target = await UrlPolicy([]).check("https://93.184.215.14:8443/hook")
    assert (target.scheme, target.host, target.port, target.address) == (
        "https",
        "93.184.215.14",
        8443,
        "93.184.215.14",
    )


async def test_the_allow_list_admits_hosts_and_networks() -> None:
    policy = UrlPolicy(["127.0.0.1", "10.1.0.0/16", "localhost"])
    assert (await policy.check("http://127.0.0.1:9/hook")).address == "127.0.0.1"
    assert (await policy.check("http://10.1.2.3/hook")).address == "10.1.2.3"
    assert (await policy.check("http://localhost:9/hook")).host == "localhost"
    with pytest.raises(UrlRefused):
        await policy.check("http://10.2.0.1/hook")
    with pytest.raises(UrlRefused):
        await policy.check("http://169.254.169.254/")


async def test_an_unresolvable_host_is_refused_with_its_name() -> None:
    with pytest.raises(UrlRefused) as refused:
        await UrlPolicy([]).check("http://no-such-host.invalid/hook")
    assert "no-such-host.invalid" in refused.value.detail
