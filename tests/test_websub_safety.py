"""The hub against strangers' URLs and requests: addresses, time, sizes, limits."""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websub_env import (
    BASE,
    TOPIC,
    Callback,
    websub_app,
)
from werkzeug.datastructures import MultiDict

from feedsvc.websub.safety import Client, address_refused

# --- callback safety ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert address_refused(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert address_refused(address) is None


def test_a_name_that_resolves_to_loopback_is_refused_when_called(stepped):
    env = stepped(WEBSUB_ALLOW_PRIVATE=False)
    port = env.callback_url.rsplit(":", 1)[1]
    response = env.request(
        **{
            "hub.mode": "subscribe",
            "hub.topic": TOPIC,
            "hub.callback": f"http://localhost:{port}/cb",
        }
    )
    assert response.status_code == 202  # a name: checked when it is resolved, below
    assert env.websub.hub.drain(5)
    assert env.callback.received == [] and env.subscriptions() == []
    literal = env.request(
        **{"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": env.callback_url + "/cb"}
    )
    assert literal.status_code == 400 and "loopback" in literal.get_data(as_text=True)


def test_every_delivery_checks_the_address_again(stepped):
    """A subscription kept while its name was public is refused once it resolves privately."""
    env = stepped(WEBSUB_ALLOW_PRIVATE=False)
    port = env.callback_url.rsplit(":", 1)[1]
    callback = f"http://localhost:{port}/cb"
    env.websub.storage.subscribe(TOPIC, callback, "localhost", None, 3600, env.clock(), 10)
    env.edit()
    assert env.callback.received == []
    assert env.websub.leader.queue.next_due() is not None  # retried until the lease ends


def test_the_connection_goes_to_the_address_that_was_checked(serve, monkeypatch):
    callback = Callback()
    with serve(callback) as url:
        port = int(url.rsplit(":", 1)[1])
        real = socket.getaddrinfo
        asked = []

        def fake(host, *args, **kwargs):
            asked.append(host)
            return real("127.0.0.1" if host == "callback.test" else host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", fake)
        answer = Client(True, 5).request(
            "GET", f"http://callback.test:{port}/x?hub.challenge=c", read=10
        )
    assert answer.status == 200 and answer.body == b"c"
    assert asked == ["callback.test"]  # resolved once, by the check, and not again to connect
    assert callback.received[0].headers["Host"] == f"callback.test:{port}"


def test_a_callback_that_never_answers_takes_only_the_timeout(stepped):
    env = stepped(WEBSUB_TIMEOUT=0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        port = silent.getsockname()[1]
        started = time.monotonic()
        env.request(
            **{
                "hub.mode": "subscribe",
                "hub.topic": TOPIC,
                "hub.callback": f"http://127.0.0.1:{port}/cb",
            }
        )
        assert env.websub.hub.drain(5)
        assert time.monotonic() - started < 3
    assert env.subscriptions() == []


def test_a_callback_that_drips_its_answer_takes_only_the_timeout():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def drip() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 100:
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        return
                    time.sleep(0.1)  # the peer's pace, not the test's

        thread = threading.Thread(target=drip, daemon=True)
        thread.start()
        started = time.monotonic()
        with pytest.raises((OSError, http.client.HTTPException)):  # what callers catch
            Client(True, 0.5).request("GET", f"http://127.0.0.1:{port}/", read=10)
        assert time.monotonic() - started < 2
        thread.join(15)


def test_only_as_much_of_an_answer_is_read_as_needed(serve):
    big = b"x" * (50 << 20)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", str(len(big)))])
        return [big]

    with serve(app) as url:
        started = time.monotonic()
        answer = Client(True, 5).request("GET", url + "/", read=44)
    assert answer.body == b"x" * 44
    assert time.monotonic() - started < 2


_FIELDS = ("hub.mode", "hub.topic", "hub.callback", "hub.secret", "hub.lease_seconds", "hub.url")
_VALUES = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
    st.sampled_from(
        ["subscribe", "unsubscribe", "publish", TOPIC, BASE + "/feed.rss?page=2", "0", "-1"]
    ),
    st.builds(lambda tail: "http://cb.example/" + tail, st.text(max_size=30)),
    st.just("x" * 3000),
)


@pytest.mark.slow
@settings(
    max_examples=200,
    deadline=None,
    # The fixtures only give the app's folders; one app serves every example.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(form=st.lists(st.tuples(st.sampled_from(_FIELDS), _VALUES), max_size=8))
def test_any_request_to_the_hub_is_a_202_or_a_4xx_in_plain_text(store_dir, tmp_path_factory, form):
    app = _fuzz_app(store_dir, tmp_path_factory)
    hub = app.extensions["feedsvc.websub"].hub
    started = []
    hub._start = started.append  # keep every check, make no request to any callback
    response = app.test_client().post("/websub", data=MultiDict(form))
    assert response.status_code in (202, 400, 403, 404, 413, 429), response.get_data()
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True).strip()
    assert (response.status_code == 202) == bool(started) or _is_publish(form)


def _is_publish(form) -> bool:
    modes = [value for name, value in form if name == "hub.mode"]
    return modes == ["publish"]


_FUZZ: dict = {}


def _fuzz_app(store_dir, tmp_path_factory):
    """One app for every example (hypothesis runs them in one test)."""
    if "app" not in _FUZZ:
        _FUZZ["app"] = websub_app(
            store_dir,
            tmp_path_factory.mktemp("fuzz"),
            WEBSUB_ALLOW_PRIVATE=False,
            WEBSUB_REQUESTS_PER_MINUTE=100000,
        )
        _FUZZ["app"].extensions["feedsvc.websub"].leader.stop()  # it pushes nothing here
    return _FUZZ["app"]


# --- limits --------------------------------------------------------------------------------


def test_subscriptions_per_callback_host_are_limited(stepped):
    env = stepped(WEBSUB_CALLBACKS_PER_HOST=2)
    assert env.subscribe(path="/1").status_code == 202
    assert env.subscribe(path="/2").status_code == 202
    third = env.subscribe(path="/3")
    assert third.status_code == 403 and third.mimetype == "text/plain"
    assert env.subscribe(path="/1").status_code == 202  # renewing one kept is fine
    assert len(env.subscriptions()) == 2


def test_requests_per_client_are_limited(stepped):
    env = stepped(WEBSUB_REQUESTS_PER_MINUTE=3)
    statuses = [env.subscribe(path=f"/{n}", wait=False).status_code for n in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    limited = env.subscribe(wait=False)
    assert int(limited.headers["Retry-After"]) > 0
    assert env.websub.hub.drain(5)


def test_a_hub_busy_verifying_says_when_to_come_back(stepped, monkeypatch):
    from feedsvc.websub import hub

    monkeypatch.setattr(hub, "MAX_PENDING", 1)
    env = stepped(WEBSUB_TIMEOUT=1.0)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts, never answers: the first verification waits its timeout
        callback = f"http://127.0.0.1:{silent.getsockname()[1]}/cb"
        form = {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": callback}
        assert env.request(**form).status_code == 202
        busy = env.request(**{**form, "hub.callback": callback + "2"})
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
        assert env.websub.hub.drain(5)
    assert env.request(**form).status_code == 202  # room again


def test_a_large_request_is_refused(stepped):
    env = stepped()
    response = env.request(
        **{
            "hub.mode": "subscribe",
            "hub.topic": TOPIC,
            "hub.callback": "http://x.example/" + "a" * 20000,
        }
    )
    assert response.status_code == 413
    assert env.callback.received == []
