"""The cycle collector around a store's loads: paused while one builds, the result frozen.

A loaded store is millions of objects that never form cycles. Left in the cycle
collector's sight, every full collection would walk them all, so a first load runs
with the collector paused and what it loaded is frozen (``gc.freeze``) before the
process serves. Frozen objects are still freed by reference counting when a reload
drops them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


def freeze_heap() -> None:
    """Collect what is garbage now, then move everything left out of the collector's sight."""
    gc.collect()
    gc.freeze()


def freeze_without_collecting() -> None:
    """Freeze what is loaded, for a heap known to hold no garbage cycles."""
    gc.freeze()


@contextlib.contextmanager
def collector_paused(pause: bool) -> Iterator[None]:
    """No cycle collection inside the block when ``pause``; the previous state after it."""
    enabled = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause and enabled:
            gc.enable()
