"""Settings: defaults, then FEEDSVC_* environment variables, then the mapping, each typed."""

from __future__ import annotations

import pytest
from conftest import SAMPLE

from feedsvc import create_app
from feedsvc.config import SETTINGS, coerce, default, from_environ


def test_every_setting_gets_its_default():
    config: dict = {}
    coerce(config)
    assert config == {s.name: s.default for s in SETTINGS}
    assert all(isinstance(config[s.name], s.type) for s in SETTINGS)


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("MAX_AGE", "120", 120),
        ("RELOAD_INTERVAL", "0.5", 0.5),
        ("WATCH", "false", False),
        ("WATCH", "0", False),
        ("FAST_PATH", "TRUE", True),
        ("BASE_URL", "https://feeds.example.com///", "https://feeds.example.com"),
    ],
)
def test_strings_from_the_environment_take_the_declared_type(name, given, expected):
    config = {name: given}
    coerce(config)
    assert config[name] == expected and type(config[name]) is type(expected)


@pytest.mark.parametrize(("name", "given"), [("MAX_AGE", "soon"), ("WATCH", "yes please")])
def test_a_bad_value_fails_at_start_up_naming_the_variable(name, given):
    with pytest.raises(ValueError, match=f"FEEDSVC_{name}="):
        coerce({name: given})


def test_the_mapping_overrides_the_environment_which_overrides_defaults(monkeypatch):
    monkeypatch.setenv("FEEDSVC_TITLE", "From the environment")
    monkeypatch.setenv("FEEDSVC_MAX_AGE", "7")
    app = create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0, "MAX_AGE": 9})
    assert app.config["TITLE"] == "From the environment"
    assert app.config["MAX_AGE"] == 9
    assert app.config["LANGUAGE"] == default("LANGUAGE")
    response = app.test_client().get("/feed.rss")
    assert response.cache_control.max_age == 9
    assert b"From the environment" in response.data


def test_two_apps_keep_their_own_settings_and_state():
    first = create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0, "MAX_AGE": 1})
    second = create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0, "MAX_AGE": 2})
    assert first.test_client().get("/feed.rss").cache_control.max_age == 1
    assert second.test_client().get("/feed.rss").cache_control.max_age == 2
    for key in ("feedsvc.store", "feedsvc.render_cache", "feedsvc.items", "feedsvc.templates"):
        assert first.extensions[key] is not second.extensions[key]


def test_gunicorns_config_reads_a_setting_typed_from_the_environment(monkeypatch):
    monkeypatch.setenv("FEEDSVC_LOG_FLUSH", "0.25")
    assert from_environ("LOG_FLUSH") == 0.25
    monkeypatch.delenv("FEEDSVC_LOG_FLUSH")
    assert from_environ("LOG_FLUSH") == default("LOG_FLUSH")
    monkeypatch.setenv("FEEDSVC_LOG_FLUSH", "soon")
    with pytest.raises(ValueError, match="FEEDSVC_LOG_FLUSH"):
        from_environ("LOG_FLUSH")
