"""/metrics is for the Prometheus beside the service, not for whoever reaches its port."""

from __future__ import annotations

import pytest
from conftest import SAMPLE

from feedsvc import create_app


def scrape(remote: str, headers: dict | None = None, **config) -> int:
    app = create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0, **config})
    client = app.test_client()
    return client.get("/metrics", environ_base={"REMOTE_ADDR": remote}, headers=headers).status_code


@pytest.mark.parametrize(
    ("remote", "status"),
    [("127.0.0.1", 200), ("::1", 200), ("10.2.3.4", 200), ("192.168.1.9", 200), ("fd00::5", 200)]
    + [("203.0.113.7", 404), ("2001:db8::1", 404), ("172.32.0.1", 404)],
)
def test_by_default_only_loopback_and_private_networks_may_scrape(remote, status):
    assert scrape(remote) == status


def test_the_allow_list_is_configurable():
    assert scrape("10.2.3.4", METRICS_ALLOW="192.0.2.0/24") == 404
    assert scrape("192.0.2.77", METRICS_ALLOW="192.0.2.0/24") == 200
    assert scrape("203.0.113.7", METRICS_ALLOW="0.0.0.0/0, ::/0") == 200


def test_behind_a_trusted_proxy_the_forwarded_client_counts():
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert scrape("10.0.0.2", forwarded, PROXY_HOPS=1) == 404
    assert scrape("10.0.0.2", {"X-Forwarded-For": "10.0.0.9"}, PROXY_HOPS=1) == 200


def test_a_bad_network_stops_the_start():
    with pytest.raises(ValueError, match="FEEDSVC_METRICS_ALLOW"):
        scrape("127.0.0.1", METRICS_ALLOW="10.0.0.0/33")
