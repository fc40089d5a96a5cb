"""Background threads that survive a forking server."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


class PerProcessThread:
    """Runs ``target`` in a daemon thread at most once per process.

    Threads do not cross ``fork``, so a forking server's workers each start their
    own on first use; the check is cheap enough for every request.
    """

    def __init__(self, target: Callable[[], None], name: str):
        self._target = target
        self._name = name
        self._pid = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._target, name=self._name, daemon=True).start()
