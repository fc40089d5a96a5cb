"""One attempt at each kind of outgoing push: content to a subscriber, news to a hub.

Content distribution (section 7): a ``POST`` of the topic's full bytes with its
Content-Type, one Link header naming the hubs and the topic as ``self``, and, for
a subscription made with a secret, ``X-Hub-Signature: sha256=<hex HMAC>`` of the
body (7.1). Only a 2xx counts as delivered; a 410 ends the subscription; any
other answer, a redirect included, is a failure to retry. The subscriber's body is
never read.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from http.client import HTTPException
from urllib.parse import urlencode

from ..render.cache import Rendered
from .safety import Client, Refused
from .storage import Storage, Subscription

log = logging.getLogger("feedsvc.websub")


@dataclass(frozen=True, slots=True)
class Content:
    """A version of a topic, as it goes to every subscriber."""

    topic: str
    rendered: Rendered


def signature(secret: str, body: bytes) -> str:
    """The X-Hub-Signature value: sha256, which WebSub recognises, over the exact body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def distribution_headers(content: Content, hubs: tuple[str, ...], secret: str | None) -> dict:
    links = [f'<{hub}>; rel="hub"' for hub in hubs] + [f'<{content.topic}>; rel="self"']
    headers = {
        "Content-Type": content.rendered.mimetype,
        # 7: the Link headers SHOULD be combined into one.
        "Link": ", ".join(links),
        "User-Agent": "feedsvc-websub",
    }
    if secret:
        headers["X-Hub-Signature"] = signature(secret, content.rendered.body)
    return headers


def deliver(
    client: Client,
    storage: Storage,
    hubs: tuple[str, ...],
    subscription: Subscription,
    content: Content,
) -> str:
    """POST ``content`` to the subscriber: "delivered", "gone", "failed" or "refused"."""
    headers = distribution_headers(content, hubs, subscription.secret)
    try:
        answer = client.request(
            "POST", subscription.callback, body=content.rendered.body, headers=headers
        )
    except Refused as exc:
        log.warning("websub delivery refused: %s", exc)
        return "refused"
    except (OSError, HTTPException) as exc:
        log.info("websub delivery to %s failed: %s", subscription.callback, exc)
        return "failed"
    if 200 <= answer.status < 300:
        return "delivered"
    if answer.status == 410:
        # 7: the subscriber deleted the subscription.
        storage.remove(subscription.id)
        return "gone"
    return "failed"


def notify(client: Client, hub: str, topic: str) -> bool:
    """Tell an external hub that ``topic`` changed; True when it answered 2xx."""
    body = urlencode({"hub.mode": "publish", "hub.url": topic}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "feedsvc"}
    try:
        answer = client.request("POST", hub, body=body, headers=headers, read=0)
    except (Refused, OSError, HTTPException) as exc:
        log.warning("websub publish to %s failed: %s", hub, exc)
        return False
    if not 200 <= answer.status < 300:
        log.warning("websub publish to %s answered %s", hub, answer.status)
        return False
    return True
