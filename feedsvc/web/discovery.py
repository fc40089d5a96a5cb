"""WebSub discovery: the hubs a feed names, and its Link headers.

Here in the web stage, not in :mod:`feedsvc.websub`, because the views, the fast path
and the site every renderer gets need them whether or not the hub runs; the websub
package builds on this, never the other way round.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ..render import urls
from ..render.page import FeedPage

# The built-in hub's endpoint; `self` in WEBSUB_HUBS stands for BASE_URL + this.
HUB_PATH = urls.HUB.path()


def hubs_of(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The hubs a feed announces (none when WebSub is off), for the renderers' Site."""
    return _hubs(config["WEBSUB_HUBS"], config["BASE_URL"])


@functools.lru_cache(maxsize=16)
def _hubs(names: str, base_url: str) -> tuple[str, ...]:
    hubs: list[str] = []
    for name in (part.strip() for part in names.split(",")):
        url = base_url + HUB_PATH if name == "self" else name
        if url and url not in hubs:
            hubs.append(url)
    return tuple(hubs)


def discovery_links(page: FeedPage) -> tuple[tuple[str, str], ...]:
    """WebSub discovery (section 4): a Link rel=hub per hub and exactly one rel=self,
    the page's canonical URL; none when WebSub is off."""
    hubs = page.site.hubs
    if not hubs:
        return ()
    return _links(hubs, page.url())


@functools.lru_cache(maxsize=4096)
def _links(hubs: tuple[str, ...], self_url: str) -> tuple[tuple[str, str], ...]:
    return (
        *(("Link", f'<{hub}>; rel="hub"') for hub in hubs),
        ("Link", f'<{self_url}>; rel="self"'),
    )
