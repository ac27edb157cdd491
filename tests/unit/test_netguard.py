"""The private-address rule for connections a member's settings cause."""

from __future__ import annotations

import socket

import pytest

from sequencer import netguard


@pytest.fixture
def blocking(settings):
    settings.SEQUENCER_BLOCK_PRIVATE_HOSTS = True


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.10",
        "169.254.169.254",  # cloud metadata services
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "[::1]",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "localhost",
    ],
)
def test_loopback_private_link_local_and_reserved_hosts_are_refused(blocking, host):
    reason = netguard.refusal(host, 25)
    assert reason is not None
    assert "SEQUENCER_BLOCK_PRIVATE_HOSTS" in reason
    with pytest.raises(netguard.BlockedHost):
        netguard.check(host, 25)


@pytest.mark.parametrize("host", ["93.184.215.14", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(blocking, host):
    assert netguard.refusal(host, 587) is None
    netguard.check(host, 587)


def test_a_name_with_one_private_address_among_public_ones_is_refused(blocking, monkeypatch):
    def answers(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", answers)
    reason = netguard.refusal("mail.example.com", 993)
    assert reason is not None
    assert reason.startswith("mail.example.com (10.0.0.7)")


def test_a_name_that_does_not_resolve_is_left_to_the_connection_to_report(blocking):
    assert netguard.refusal("no-such-host.invalid", 25) is None


def test_the_host_of_a_url_is_checked(blocking):
    assert netguard.url_refusal("http://127.0.0.1:5232/alice/") is not None
    assert netguard.url_refusal("https://[::1]/dav/") is not None
    assert netguard.url_refusal("https://93.184.215.14/dav/") is None


def test_nothing_is_refused_while_the_setting_is_off(settings):
    settings.SEQUENCER_BLOCK_PRIVATE_HOSTS = False
    assert netguard.refusal("127.0.0.1", 25) is None
    assert netguard.url_refusal("http://localhost:5232/") is None
