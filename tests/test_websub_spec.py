"""The WebSub Recommendation's requirements, one test each, numbered by its sections.

Each drives the real hub endpoint through Flask's client, with a real callback
server on 127.0.0.1 (tests/websub_env.py), and a clock the test steps: the
leader's loop is run a step at a time instead of in its thread.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlsplit

import feedparser
import pytest
from requests.utils import parse_header_links
from websub_env import BASE, TOPIC, Env

# --- 4. Discovery -------------------------------------------------------------------


def discovery_headers(env: Env) -> None:
    for path in ("/feed.rss", "/feed.atom", "/feed.json", "/topics/ai/feed.atom"):
        response = env.client.get(path)
        links = parse_header_links(", ".join(response.headers.getlist("Link")))
        assert [link["url"] for link in links if link["rel"] == "hub"] == [BASE + "/websub"]
        assert [link["url"] for link in links if link["rel"] == "self"] == [BASE + path]


def discovery_in_xml(env: Env) -> None:
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(env.client.get(f"/feed.{fmt}").data)
        rels = {(link.rel, link.href) for link in parsed.feed.links}
        assert ("hub", BASE + "/websub") in rels
        assert ("self", f"{BASE}/feed.{fmt}") in rels


def discovery_in_json_feed(env: Env) -> None:
    feed = json.loads(env.client.get("/feed.json").data)
    assert feed["hubs"] == [{"type": "WebSub", "url": BASE + "/websub"}]
    assert feed["feed_url"] == BASE + "/feed.json"


# --- 5.1 Subscriber sends subscription request ------------------------------------------


def accepts_callback_mode_topic(env: Env) -> None:
    response = env.subscribe()
    assert response.status_code == 202
    assert [s.callback for s in env.subscriptions()] == [env.callback_url + "/cb"]


def accepts_a_secret_under_200_bytes(env: Env) -> None:
    assert env.subscribe(**{"hub.secret": "s" * 199}).status_code == 202
    assert env.subscriptions()[0].secret == "s" * 199


def refuses_a_secret_of_200_bytes(env: Env) -> None:
    response = env.subscribe(**{"hub.secret": "é" * 100})  # 200 bytes in UTF-8
    assert response.status_code == 400
    assert env.callback.received == [] and env.subscriptions() == []


def ignores_unknown_parameters(env: Env) -> None:
    assert env.subscribe(**{"hub.foo": "bar", "other": "x"}).status_code == 202
    assert len(env.subscriptions()) == 1


def keeps_the_callbacks_query(env: Env) -> None:
    env.subscribe(path="/cb?user=7&x=")
    (verification,) = env.callback.of("GET")
    assert verification.args["user"] == "7" and verification.args["x"] == ""
    assert verification.args["hub.mode"] == "subscribe"


# --- 5.1.2 Subscription response -------------------------------------------------------


def accepted_whatever_verification_finds(env: Env) -> None:
    env.callback.verify = 404
    assert env.subscribe().status_code == 202
    assert env.subscriptions() == []


def errors_are_4xx_plain_text(env: Env) -> None:
    cases = [
        {"hub.mode": "subscribe", "hub.callback": env.callback_url + "/cb"},
        {"hub.mode": "subscribe", "hub.topic": TOPIC},
        {"hub.mode": "dance", "hub.topic": TOPIC, "hub.callback": env.callback_url},
        {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": "ftp://x.example/"},
        {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": "http://[::1"},
        {
            "hub.mode": "subscribe",
            "hub.topic": TOPIC,
            "hub.callback": env.callback_url,
            "hub.lease_seconds": "-5",
        },
    ]
    for form in cases:
        response = env.request(**form)
        assert 400 <= response.status_code < 500, form
        assert response.mimetype == "text/plain"
        assert len(response.get_data(as_text=True).strip()) > 10
    get = env.client.get("/websub")
    assert get.status_code == 405 and get.headers["Allow"] == "POST"
    assert env.callback.received == []


def refuses_topics_not_ours(env: Env) -> None:
    for topic in (
        "https://elsewhere.example/feed.atom",
        BASE + "/topics/nope/feed.atom",
        BASE + "/feed.atom?page=2",
        BASE + "/feeds.opml",
    ):
        response = env.subscribe(topic=topic)
        assert response.status_code == 400, topic
    assert env.callback.received == []


# --- 5.2 Subscription validation ------------------------------------------------------


def denial_names_the_topic_and_reason(env: Env) -> None:
    # Two requests accepted before either is verified; the second one to verify is denied.
    env.websub.hub.settings = replace(env.websub.hub.settings, callbacks_per_host=1)
    assert env.subscribe(path="/one", wait=False).status_code == 202
    assert env.subscribe(path="/two", wait=False).status_code == 202
    assert env.websub.hub.drain(5)
    denied = env.callback.of("GET", "denied")
    assert len(denied) == 1
    assert denied[0].args["hub.topic"] == TOPIC and denied[0].args["hub.reason"]
    assert len(env.subscriptions()) == 1


# --- 5.3 Hub verifies intent of the subscriber ----------------------------------------------


def verification_carries_mode_topic_challenge_lease(env: Env) -> None:
    env.subscribe(**{"hub.lease_seconds": "600"})
    (verification,) = env.callback.of("GET")
    args = verification.args
    assert args["hub.mode"] == "subscribe" and args["hub.topic"] == TOPIC
    assert len(args["hub.challenge"]) >= 32
    assert args["hub.lease_seconds"] == "600"
    assert env.subscriptions()[0].expires_at == env.clock() + 600


def challenge_is_new_each_time(env: Env) -> None:
    env.subscribe()
    env.subscribe()
    env.unsubscribe()
    challenges = [r.args["hub.challenge"] for r in env.callback.of("GET")]
    assert len(challenges) == 3 and len(set(challenges)) == 3


def a_body_other_than_the_challenge_fails(env: Env) -> None:
    env.callback.verify = "wrong"
    assert env.subscribe().status_code == 202
    assert env.subscriptions() == []


def a_404_refuses(env: Env) -> None:
    env.callback.verify = 404
    env.subscribe()
    assert env.subscriptions() == []


def a_redirect_or_5xx_fails(env: Env) -> None:
    for status in (302, 307, 500):
        env.callback.verify = status
        env.subscribe()
        assert env.subscriptions() == [], status
    assert len(env.callback.of("GET")) == 3  # the redirects were not followed


def leases_are_bounded_never_perpetual(env: Env) -> None:
    env.subscribe(path="/long", **{"hub.lease_seconds": "9999999999"})
    env.subscribe(path="/short", **{"hub.lease_seconds": "1"})
    env.subscribe(path="/default")
    leases = {
        urlsplit(r.path).path: int(r.args["hub.lease_seconds"]) for r in env.callback.of("GET")
    }
    assert leases == {"/long": 7200, "/short": 60, "/default": 3600}


def resubscribing_renews_one_subscription(env: Env) -> None:
    env.subscribe(**{"hub.secret": "first"})
    env.clock.advance(100)
    env.subscribe(**{"hub.secret": "second"})
    (subscription,) = env.subscriptions()
    assert subscription.secret == "second"
    assert subscription.expires_at == env.clock() + 3600


def unsubscription_is_verified_then_removed(env: Env) -> None:
    env.subscribe()
    assert env.unsubscribe().status_code == 202
    unsub = env.callback.of("GET", "unsubscribe")
    assert len(unsub) == 1 and unsub[0].args["hub.topic"] == TOPIC
    assert env.subscriptions() == []
    env.edit()
    assert env.deliveries() == []


def an_unconfirmed_unsubscription_keeps_it(env: Env) -> None:
    env.subscribe()
    env.callback.verify = 404
    env.unsubscribe()
    assert len(env.subscriptions()) == 1


def leases_end(env: Env) -> None:
    env.subscribe()
    env.clock.advance(3601)
    assert env.subscriptions() == []
    env.edit()
    assert env.deliveries() == []


# --- 7. Content distribution ------------------------------------------------------------


def distribution_posts_the_full_feed_with_its_type(env: Env) -> None:
    env.subscribe()
    env.edit()
    (post,) = env.deliveries()
    current = env.client.get("/feed.atom")
    assert post.body == current.data
    assert post.headers["Content-Type"] == current.headers["Content-Type"]
    assert feedparser.parse(post.body).entries[0].title == "Edit 1"


def distribution_links_hub_and_self(env: Env) -> None:
    env.subscribe()
    env.edit()
    (post,) = env.deliveries()
    links = parse_header_links(post.headers["Link"])
    assert {(link["rel"], link["url"]) for link in links} == {
        ("hub", BASE + "/websub"),
        ("self", TOPIC),
    }


def only_a_2xx_counts_and_failures_retry_with_backoff(env: Env) -> None:
    env.callback.deliver = [500, 404, 302, 204]
    env.subscribe()
    env.edit()
    waits = []
    for _ in range(10):
        if len(env.deliveries()) == 4:
            break
        due = env.websub.leader.queue.next_due()
        waits.append(due - env.clock())
        env.step(due - env.clock())
    assert len(env.deliveries()) == 4
    assert waits == [5.0, 10.0, 20.0]  # each failure waits twice as long
    assert env.websub.leader.queue.next_due() is None  # the 204 ended it


def a_410_ends_the_subscription(env: Env) -> None:
    env.callback.deliver = [410]
    env.subscribe()
    env.edit()
    assert len(env.deliveries()) == 1
    assert env.subscriptions() == []
    env.edit()
    assert len(env.deliveries()) == 1


def retries_stop_when_the_lease_ends(env: Env) -> None:
    env.callback.deliver = [503]
    env.subscribe(**{"hub.lease_seconds": "60"})
    env.edit()
    for _ in range(20):
        due = env.websub.leader.queue.next_due()
        if due is None:
            break
        env.step(due - env.clock())
    assert env.websub.leader.queue.next_due() is None
    times = len(env.deliveries())
    assert 2 <= times <= 5  # 5 + 10 + 20 s of backoff fit in the 60 s lease, 40 more do not


def a_newer_version_replaces_a_waiting_one(env: Env) -> None:
    env.callback.deliver = [500, 200]
    env.subscribe()
    env.edit()
    env.edit()  # while the first waits for its retry
    env.step(5)
    bodies = [feedparser.parse(p.body).entries[0].title for p in env.deliveries()]
    assert bodies[-1] == "Edit 2" and len(bodies) == 2


# --- 7.1 Authenticated content distribution ------------------------------------------------


def signs_with_the_secret(env: Env) -> None:
    env.subscribe(**{"hub.secret": "a secret"})
    env.edit()
    (post,) = env.deliveries()
    method, _, digest = post.headers["X-Hub-Signature"].partition("=")
    assert method == "sha256"
    assert hmac.compare_digest(digest, hmac.new(b"a secret", post.body, hashlib.sha256).hexdigest())


def no_signature_without_a_secret(env: Env) -> None:
    env.subscribe()
    env.edit()
    (post,) = env.deliveries()
    assert "X-Hub-Signature" not in post.headers


# --- Publishing (6), once per change -----------------------------------------------------


def a_change_is_pushed_once_per_topic_and_format(env: Env) -> None:
    for fmt in ("rss", "atom", "json"):
        env.subscribe(path=f"/{fmt}", topic=f"{BASE}/feed.{fmt}")
    env.edit()
    env.step()
    env.app.extensions["feedsvc.store"].refresh()  # nothing changed
    env.step()
    paths = sorted(urlsplit(p.path).path for p in env.deliveries())
    assert paths == ["/atom", "/json", "/rss"]


def publish_requests_are_checked_against_the_feed(env: Env) -> None:
    env.subscribe()
    response = env.request(**{"hub.mode": "publish", "hub.url": TOPIC})
    assert response.status_code == 202
    env.step()
    assert env.deliveries() == []  # the feed's bytes did not change
    assert (
        env.request(**{"hub.mode": "publish", "hub.url": "https://x.example/"}).status_code == 400
    )


REQUIREMENTS: list[tuple[str, Callable[[Env], None]]] = [
    ("4 publisher: Link rel=hub per hub and one rel=self", discovery_headers),
    ("4 publisher: atom:link rel=hub and rel=self in RSS and Atom", discovery_in_xml),
    ("4 publisher: JSON Feed hubs", discovery_in_json_feed),
    ("5.1 hub accepts hub.callback, hub.mode, hub.topic", accepts_callback_mode_topic),
    ("5.1 hub accepts hub.secret", accepts_a_secret_under_200_bytes),
    ("5.1 hub.secret MUST be under 200 bytes", refuses_a_secret_of_200_bytes),
    ("5.1 hub ignores parameters it does not know", ignores_unknown_parameters),
    ("5.1.1 hub keeps the callback's query string", keeps_the_callbacks_query),
    ("5.1.2 202 whatever verification later finds", accepted_whatever_verification_finds),
    ("5.1.2 errors are 4xx with a plain-text description", errors_are_4xx_plain_text),
    ("5.1.2 topics other than our feeds are refused", refuses_topics_not_ours),
    (
        "5.2 denial: GET hub.mode=denied with hub.topic and hub.reason",
        denial_names_the_topic_and_reason,
    ),
    (
        "5.3 verification: hub.mode, hub.topic, hub.challenge, hub.lease_seconds",
        verification_carries_mode_topic_challenge_lease,
    ),
    ("5.3 hub.challenge is random and single use", challenge_is_new_each_time),
    ("5.3.1 a 2xx whose body is not the challenge fails", a_body_other_than_the_challenge_fails),
    ("5.3.1 a 404 means the subscriber does not agree", a_404_refuses),
    ("5.3.1 3xx and 5xx answers fail verification", a_redirect_or_5xx_fails),
    ("5.3 leases within the hub's bounds, never perpetual", leases_are_bounded_never_perpetual),
    ("5.3 re-subscribing renews the same subscription", resubscribing_renews_one_subscription),
    ("5.3 unsubscription is verified, then removed", unsubscription_is_verified_then_removed),
    ("5.3.1 an unconfirmed unsubscription changes nothing", an_unconfirmed_unsubscription_keeps_it),
    ("5.3 a subscription ends with its lease", leases_end),
    (
        "7 distribution: full content with the topic's Content-Type",
        distribution_posts_the_full_feed_with_its_type,
    ),
    ("7 distribution: Link rel=hub and rel=self", distribution_links_hub_and_self),
    (
        "7 only 2xx counts; others, redirects too, retried with backoff",
        only_a_2xx_counts_and_failures_retry_with_backoff,
    ),
    ("7 a 410 ends the subscription", a_410_ends_the_subscription),
    ("7 retries stop when the lease ends", retries_stop_when_the_lease_ends),
    ("7 a newer version replaces a waiting one", a_newer_version_replaces_a_waiting_one),
    ("7.1 X-Hub-Signature sha256 HMAC of the body with hub.secret", signs_with_the_secret),
    ("7.1 no signature without a secret", no_signature_without_a_secret),
    ("6 each change is pushed once per topic URL", a_change_is_pushed_once_per_topic_and_format),
    (
        "6 publish requests are checked against the feed's bytes",
        publish_requests_are_checked_against_the_feed,
    ),
]


@pytest.mark.parametrize(
    "check", [check for _, check in REQUIREMENTS], ids=[name for name, _ in REQUIREMENTS]
)
def test_requirement(env, check):
    check(env)
