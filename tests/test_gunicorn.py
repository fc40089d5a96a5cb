"""feedsvc under a real gunicorn with two workers: metrics add up across workers, logs are JSON."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from conftest import SAMPLE
from servers import get, gunicorn, scrape

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FEED_REQUESTS = 30


def feed_requests(samples: dict) -> float:
    key = (
        "feedsvc_http_requests_total",
        (("format", "rss"), ("route", "/feed.<fmt>"), ("status", "200")),
    )
    return samples.get(key, 0.0)


def json_lines(server) -> list[dict]:
    return [json.loads(line) for line in server.log_lines() if line.strip()]


def worker_pids(server) -> set[int]:
    pids = set()
    for record in json_lines(server):
        if record["message"].startswith("Booting worker with pid"):
            pids.add(int(record["message"].rsplit(" ", 1)[1]))
    return pids


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("gunicorn") / "server.log"
    with gunicorn(SAMPLE, log_path, workers=2) as running:
        for _ in range(FEED_REQUESTS):  # a new connection each, so both workers take some
            status, _, _ = get(running.url + "/feed.rss")
            assert status == 200
        yield running


def test_counters_add_up_over_workers_whichever_answers_the_scrape(server):
    # Each scrape lands on either worker; every one must see all the requests.
    for _ in range(8):
        samples = scrape(server.url)
        assert feed_requests(samples) == FEED_REQUESTS
        latency_count = ("feedsvc_http_request_duration_seconds_count", (("route", "/feed.<fmt>"),))
        assert samples[latency_count] == FEED_REQUESTS
        hits = samples[("feedsvc_render_cache_lookups_total", (("outcome", "hit"),))]
        misses = samples[("feedsvc_render_cache_lookups_total", (("outcome", "miss"),))]
        assert hits + misses == FEED_REQUESTS
        assert 1 <= misses <= 2  # one render per worker at most


def test_store_gauges_are_one_series_not_one_per_worker(server):
    samples = scrape(server.url)
    articles = [v for (name, _), v in samples.items() if name == "feedsvc_store_articles"]
    assert articles == [2.0]
    assert samples[("feedsvc_store_skipped_files", ())] == 0.0
    assert samples[("feedsvc_store_reload_duration_seconds_count", ())] >= 1


def test_not_modified_is_counted(server):
    _, headers, _ = get(server.url + "/feed.atom")
    status, _, body = get(server.url + "/feed.atom", {"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    samples = scrape(server.url)
    assert samples[("feedsvc_http_not_modified_total", (("route", "/feed.<fmt>"),))] == 1


def test_request_id_is_echoed_and_logged_as_json(server):
    status, headers, _ = get(server.url + "/feed.json", {"X-Request-ID": "probe-42"})
    assert status == 200 and headers["X-Request-ID"] == "probe-42"
    _, generated, _ = get(server.url + "/topics/no-such-topic/feed.rss")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records = json_lines(server)  # every line must parse
        by_id = {r.get("request_id"): r for r in records if r["message"] == "request"}
        if "probe-42" in by_id and generated["X-Request-ID"] in by_id:
            break
        time.sleep(0.05)
    record = by_id["probe-42"]
    assert record["route"] == "/feed.<fmt>" and record["status"] == 200
    assert record["cache"] in ("hit", "miss") and record["duration_ms"] > 0
    missing = by_id[generated["X-Request-ID"]]
    assert (missing["route"], missing["status"], missing["cache"]) == (
        "/topics/<slug>/feed.<fmt>",
        404,
        None,
    )
    # gunicorn's access log is off: feedsvc's own line is the one per request.
    assert not [r for r in records if r["logger"] == "gunicorn.access"]


def test_every_request_line_is_written_by_the_time_the_workers_stop(tmp_path):
    """Lines wait in each worker's buffer (a minute here); a stopping worker writes them."""
    sent = [f"line-{i}" for i in range(25)]
    env = {"FEEDSVC_LOG_FLUSH": "60"}
    with gunicorn(SAMPLE, tmp_path / "server.log", workers=2, env=env) as running:
        for request_id in sent:
            status, _, _ = get(running.url + "/feed.rss", {"X-Request-ID": request_id})
            assert status == 200
    logged = [r["request_id"] for r in json_lines(running) if r["message"] == "request"]
    assert sorted(logged) == sorted(sent)


def test_counts_survive_a_worker_that_exits(server):
    before = feed_requests(scrape(server.url))
    old = worker_pids(server)
    os.kill(min(old), signal.SIGTERM)
    deadline = time.monotonic() + 15
    while len(worker_pids(server)) == len(old) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(worker_pids(server)) == len(old) + 1, "gunicorn did not replace the worker"
    for _ in range(6):
        assert feed_requests(scrape(server.url)) == before


def test_metrics_use_the_prometheus_text_format(server):
    status, headers, _ = get(server.url + "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=")


def test_hup_replaces_the_workers_without_dropping_requests(server):
    old = worker_pids(server)
    before = feed_requests(scrape(server.url))
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    statuses = []
    while len(worker_pids(server) - old) < 2 and time.monotonic() < deadline:
        statuses.append(get(server.url + "/feed.rss")[0])
    assert len(worker_pids(server) - old) == 2, "gunicorn did not start new workers"
    statuses += [get(server.url + "/feed.rss")[0] for _ in range(10)]
    assert set(statuses) == {200}
    # The retired workers' counts stay in the sums.
    assert feed_requests(scrape(server.url)) == before + len(statuses)


def test_background_load_starts_in_every_worker_without_a_request(tmp_path):
    env = {"FEEDSVC_BACKGROUND_LOAD": "true"}
    with gunicorn(SAMPLE, tmp_path / "server.log", workers=2, env=env) as running:
        deadline = time.monotonic() + 10
        loaded: set[int] = set()
        while len(loaded) < 2 and time.monotonic() < deadline:
            loaded = {r["pid"] for r in json_lines(running) if r["message"] == "store loaded"}
            time.sleep(0.05)
        assert len(loaded) == 2  # one /healthz was sent: post_worker_init started the rest
        assert get(running.url + "/readyz")[0] == 200


def test_every_worker_keeps_its_store_fresh_without_a_request(tmp_path):
    with gunicorn(SAMPLE, tmp_path / "server.log", workers=2) as running:
        deadline = time.monotonic() + 10
        keeping: set[int] = set()
        while len(keeping) < 2 and time.monotonic() < deadline:
            keeping = {
                r["pid"]
                for r in json_lines(running)
                if r["message"].startswith(("watching ", "not watching "))
            }
            time.sleep(0.05)
        assert len(keeping) == 2  # one /healthz was sent: post_worker_init started the rest
