"""One polling interval, said the same way everywhere; the site's icon and logo."""

from __future__ import annotations

import json

import pytest
from conftest import article
from feedcheck import ATOM, check_feed, xml

from feedsvc.render.rss import update_schedule

SY = "{http://purl.org/rss/1.0/modules/syndication/}"
PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2_592_000}


@pytest.mark.parametrize("seconds", [60, 600, 900, 1000, 3600, 7200, 86400, 3 * 86400, 10**6])
def test_every_form_of_the_interval_agrees(store_dir, seconds):
    store_dir.add("a.txt", article())
    client = store_dir.app(MAX_AGE=seconds).test_client()
    response = client.get("/feed.rss")
    assert response.cache_control.max_age == seconds
    channel = xml(response.data).find("channel")
    # <ttl> is whole minutes, never shorter than max-age.
    ttl = int(channel.findtext("ttl"))
    assert seconds <= ttl * 60 < seconds + 60
    # sy: a reader polling updateFrequency times per updatePeriod polls no more often.
    period = PERIODS[channel.findtext(f"{SY}updatePeriod")]
    frequency = int(channel.findtext(f"{SY}updateFrequency"))
    assert period / frequency >= seconds
    assert period / frequency < 2 * seconds or frequency == 1
    assert update_schedule(seconds) == (channel.findtext(f"{SY}updatePeriod"), frequency)


def test_shared_caches_get_a_shorter_s_maxage_only_when_it_is_shorter(store_dir):
    store_dir.add("a.txt", article())
    short = store_dir.app().test_client().get("/feed.atom").cache_control
    assert (short.max_age, short.s_maxage) == (900, 60)
    same = store_dir.app(MAX_AGE=30, S_MAXAGE=60).test_client().get("/feed.atom").cache_control
    assert same.max_age == 30 and same.s_maxage is None


def test_everything_and_topic_feeds_name_the_site_icon_and_logo(store_dir):
    store_dir.add("a.txt", article(provider={"name": "No Logo", "domain": "nologo.example"}))
    store_dir.add("b.txt", article(webUrl="https://news.example.com/b"))  # Example News has a logo
    client = store_dir.app(BASE_URL="https://feeds.example").test_client()
    for feed in ("/feed", "/topics/ai/feed"):
        rss = xml(client.get(f"{feed}.rss").data).find("channel/image")
        assert rss.findtext("url") == "https://feeds.example/logo.png"
        assert int(rss.findtext("width")) <= 144 and int(rss.findtext("height")) <= 400
        atom = xml(client.get(f"{feed}.atom").data)
        assert atom.findtext(f"{ATOM}icon") == "https://feeds.example/favicon.ico"
        assert atom.findtext(f"{ATOM}logo") == "https://feeds.example/logo.png"
        document = json.loads(client.get(f"{feed}.json").data)
        assert document["icon"] == "https://feeds.example/logo.png"
        assert document["favicon"] == "https://feeds.example/favicon.ico"
    provider = check_feed("atom", client.get("/providers/news.example.com/feed.atom").data)
    assert provider.feed.icon == "https://news.example.com/logo-50x50.png"
    for path, kind in (("/favicon.ico", "image/x-icon"), ("/logo.png", "image/png")):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == kind
        assert response.headers["ETag"] and response.cache_control.max_age == 900


def test_the_icon_and_logo_are_settings(store_dir, tmp_path):
    store_dir.add("a.txt", article())
    icon = tmp_path / "icon.png"
    icon.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    client = store_dir.app(ICON=str(icon), LOGO=str(tmp_path / "missing.png")).test_client()
    response = client.get("/favicon.ico")
    assert response.data == icon.read_bytes() and response.mimetype == "image/png"
    assert client.get("/logo.png").status_code == 404  # said plainly, not a 500
