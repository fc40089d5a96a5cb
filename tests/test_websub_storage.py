"""What the hub keeps survives restarts and crashes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from conftest import ROOT
from websub_env import (
    TOPIC,
    websub_app,
)

from feedsvc.websub.storage import Storage

# --- storage ---------------------------------------------------------------------------------


def test_subscriptions_survive_a_restart(stepped, store_dir, tmp_path):
    env = stepped()
    env.subscribe(**{"hub.secret": "kept"})
    env.websub.leader.stop()
    again = websub_app(store_dir, tmp_path, WEBSUB_CLOCK=env.clock)
    (kept,) = again.extensions["feedsvc.websub"].storage.active(TOPIC, env.clock())
    assert kept.callback == env.callback_url + "/cb" and kept.secret == "kept"


@pytest.mark.integration
def test_a_verified_subscription_survives_a_killed_process(tmp_path):
    path = tmp_path / "websub.sqlite3"
    Storage(str(path))
    code = (
        "import os, signal\n"
        "from feedsvc.websub.storage import Storage\n"
        f"s = Storage({str(path)!r})\n"
        "s.subscribe('t', 'http://cb.example/', 'cb.example', None, 60, 0.0, 10)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=30)
    assert result.returncode == -9
    assert [s.callback for s in Storage(str(path)).active("t", 0.0)] == ["http://cb.example/"]


def test_storage_is_written_durably(tmp_path):
    storage = Storage(str(tmp_path / "websub.sqlite3"))
    db = storage._connection()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO leader VALUES (2, 1, 0, 0, 0)")
