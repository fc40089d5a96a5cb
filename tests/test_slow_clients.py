"""Slow and idle clients cannot starve the service as the container runs it (gunicorn facing them).

bench/slowclients.py runs the same attack at full size (500 + 500 sockets) and
records the latencies in docs/reliability.md.
"""

from __future__ import annotations

import pytest
from conftest import SAMPLE
from servers import get, gunicorn
from slowclients import Attack, probe

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_probes_and_cached_feeds_answer_beside_slow_and_idle_clients(tmp_path):
    with gunicorn(SAMPLE, tmp_path / "server.log", workers=2) as server:
        assert get(server.url + "/feed.rss")[0] == 200  # cached from here on
        attack = Attack(server.port, idle=100, slowloris=100, trickle=2.0)
        with attack.running():
            # Longer than the time a request's head may take, so dropped clients come back.
            probes = probe(server.url, ["/healthz", "/feed.rss"], seconds=8, timeout=3)
        assert attack.reopened > 0  # the server drops what never finishes a request
    for path in ("/healthz", "/feed.rss"):
        assert probes.failed(path) == 0, probes.summary(path)
