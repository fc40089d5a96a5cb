"""A WebSub subscriber nobody here wrote, Flask-WebSub's, against feedsvc's own hub.

Flask-WebSub sends a secret only to an https hub, so feedsvc is served over TLS on
127.0.0.1 with a certificate from a throwaway CA (trustme), and the subscriber
trusts that CA through REQUESTS_CA_BUNDLE. The subscriber discovers the hub from a
feed URL, subscribes, receives the feed pushed after an article file changes
(Flask-WebSub hands a body to its listeners only when its X-Hub-Signature checks
out), renews, and unsubscribes. Everything is bounded in time.
"""

from __future__ import annotations

import queue
import ssl

import feedparser
import flask_websub.subscriber as subscriber_module
import pytest
import requests
import trustme
from conftest import article
from flask import Flask
from servers import free_port

WAIT = 10.0  # seconds any one step may take on a busy machine


@pytest.fixture
def tls(tmp_path, monkeypatch):
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.mark.integration
@pytest.mark.slow
def test_flask_websub_subscribes_receives_renews_and_unsubscribes(
    store_dir, tmp_path, serve, tls, request
):
    store_dir.add("one.md", article(title="First story", webUrl="https://n.example.com/1"))
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    app = store_dir.app(
        BASE_URL=base,
        WEBSUB_HUBS="self",
        WEBSUB_DIR=str(tmp_path / "websub"),
        WEBSUB_ALLOW_PRIVATE=True,  # the subscriber is on loopback too
        RELOAD_INTERVAL=1.0,
    )
    websub = app.extensions["feedsvc.websub"]
    request.addfinalizer(websub.leader.stop)
    request.addfinalizer(app.extensions["feedsvc.reloader"].stop)

    subscriber_app = Flask("subscriber")
    subscriber = subscriber_module.Subscriber(
        subscriber_module.SQLite3SubscriberStorage(str(tmp_path / "subscriber.sqlite3")),
        subscriber_module.SQLite3TempSubscriberStorage(str(tmp_path / "pending.sqlite3")),
        REQUEST_TIMEOUT=5,
    )
    subscriber_app.register_blueprint(subscriber.build_blueprint(url_prefix="/callbacks"))
    pushed: queue.Queue = queue.Queue()
    confirmed: queue.Queue = queue.Queue()
    subscriber.add_listener(lambda topic, callback_id, body: pushed.put((topic, body)))
    subscriber.add_success_handler(lambda topic, callback_id, mode: confirmed.put((topic, mode)))
    subscriber.add_error_handler(lambda *args: confirmed.put(("error", args)))

    with serve(app, port=port, ssl_context=tls), serve(subscriber_app) as subscriber_url:
        subscriber_app.config["SERVER_NAME"] = subscriber_url.removeprefix("http://")
        app.extensions["feedsvc.reloader"].ensure_running()
        websub.ensure_running()

        found = subscriber_module.discover(base + "/feed.atom", timeout=WAIT)
        assert found == {"hub_url": base + "/websub", "topic_url": base + "/feed.atom"}
        with subscriber_app.app_context():
            callback_id = subscriber.subscribe(**found)
        assert confirmed.get(timeout=WAIT) == (base + "/feed.atom", "subscribe")
        kept = subscriber.storage[callback_id]
        assert kept["lease_seconds"] == app.config["WEBSUB_LEASE_SECONDS"]
        assert kept["secret"]  # set by Flask-WebSub because the hub is https

        # An edit of an article file reaches the subscriber, signed with its secret.
        store_dir.add(
            "two.md",
            article(
                title="Breaking story",
                webUrl="https://n.example.com/2",
                publishedDateTime="2024-06-01T10:00:00Z",
            ),
        )
        topic, body = pushed.get(timeout=WAIT)
        assert topic == base + "/feed.atom"
        assert feedparser.parse(body).entries[0].title == "Breaking story"

        # A body with a wrong signature is not handed to the listeners.
        callback_url = f"{subscriber_url}/callbacks/{callback_id}"
        forged = requests.post(
            callback_url, data=body, headers={"X-Hub-Signature": "sha256=" + "0" * 64}, timeout=5
        )
        assert forged.status_code == 200 and pushed.empty()

        with subscriber_app.app_context():
            subscriber.renew(callback_id)
        assert confirmed.get(timeout=WAIT) == (base + "/feed.atom", "subscribe")
        assert len(websub.storage.active(base + "/feed.atom", websub.leader.clock())) == 1

        with subscriber_app.app_context():
            subscriber.unsubscribe(callback_id)
        assert confirmed.get(timeout=WAIT) == (base + "/feed.atom", "unsubscribe")
        assert websub.hub.drain(WAIT)  # the subscriber confirms before the hub hears its answer
        assert websub.storage.active(base + "/feed.atom", websub.leader.clock()) == []
        with pytest.raises(KeyError):
            subscriber.storage[callback_id]
