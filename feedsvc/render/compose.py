"""Composed feeds as groups the format builders render: filters, unions and digests.

A :class:`Composed` is a :class:`~feedsvc.content.index.Group` holding just what one
page needs: the first ``page × limit + 1`` articles the spec selects (one more than
the page shows, which says whether a next page exists), or a digest's day items.
Its name says what the feed is ("AI from TechCrunch", "AI or Robotics, quality ≥
100", "Daily digest: AI"); its paths come from the spec's canonical form.

A digest item stands for one closed UTC day: the day's top articles by heat, then
quality, listed with their links and images. It is made only from that day's
articles, and the same articles give the very same item object (a small bounded
memo), so a day's item, and its built RSS/Atom/JSON, change only when an article
of that day does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from markupsafe import escape

from ..content.index import EPOCH, Group, Snapshot
from ..content.model import Article
from ..content.select import Spec, index_of
from . import urls

if TYPE_CHECKING:  # items.py renders digest items with digest_html below
    from .items import ItemCache

DEFAULT_LIMIT = urls.FEED_QUERY.defaults["limit"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_name(day: date) -> str:
    # Spelled here, not by strftime, which follows the process locale.
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True, slots=True)
class Feed:
    """A composed feed's request in canonical form: the spec, and whether it is a digest.

    Its paths and query string come from the URL table, so its self link, its cache
    key and so its ETag are the same however a client spelled the request.
    """

    spec: Spec
    digest: bool = False

    @property
    def route(self) -> urls.Route:
        spec = self.spec
        return urls.FEED_SHAPES[bool(spec.topics), spec.provider is not None, self.digest]

    def _slots(self, **values: str) -> dict[str, str]:
        if self.spec.topics:
            values["slug"] = "+".join(self.spec.topics)
        if self.spec.provider is not None:
            values["domain"] = self.spec.provider
        return values

    @property
    def home_path(self) -> str:
        """The HTML page this feed belongs to (its alternate link)."""
        spec = self.spec
        if spec.provider is not None and not spec.topics:
            return urls.PROVIDER_PAGE.path(slug=spec.provider)
        return urls.PAGE_SHAPES[bool(spec.topics), spec.provider is not None].path(**self._slots())

    def path(self, fmt: str) -> str:
        return self.route.path(**self._slots(fmt=fmt))

    def query(self) -> dict[str, object]:
        """The spec as query values (defaults where it sets nothing)."""
        spec = self.spec
        return {
            "min_quality": spec.min_quality,
            "min_heat": spec.min_heat,
            "q": spec.words,
            "exclude": spec.exclude,
        }

    def url(self, fmt: str, limit: int = DEFAULT_LIMIT, page: int = 1) -> str:
        """Path and canonical query string."""
        spelled = self.route.query.spell({**self.query(), "limit": limit, "page": page})
        return self.path(fmt) + (f"?{spelled}" if spelled else "")

    @property
    def key(self) -> str:
        """The canonical form with the format left open: what cache keys hold."""
        return self.url("*")


@dataclass(frozen=True, slots=True, eq=False)
class Composed(Group):
    """One page's worth of a composed feed, renderable like any group."""

    feed: Feed = field(default_factory=lambda: Feed(Spec()))
    description: str = ""
    bases: tuple[Group, ...] = ()  # the groups it draws from: their versions key its cache


@dataclass(frozen=True, slots=True)
class DigestItem(Article):
    """One day of a digest, rendered as an item; ``entries`` are its articles, best first."""

    entries: tuple[Article, ...] = ()
    day: date | None = None
    link: str = ""  # the feed's HTML page: the id names the day but is no page itself


def bases(snapshot: Snapshot, spec: Spec) -> tuple[Group, ...] | None:
    """The groups a spec draws from, or None if one of them does not exist."""
    groups = []
    for slug in spec.topics:
        group = snapshot.topics.get(slug)
        if group is None:
            return None
        groups.append(group)
    if spec.provider is not None:
        group = snapshot.providers.get(spec.provider)
        if group is None:
            return None
        groups.append(group)
    # Words and thresholds look at every article of the base; with no topic or
    # provider that is everything, whose version moves with any edit.
    return tuple(groups) or (snapshot.everything,)


def title(snapshot: Snapshot, feed: Feed) -> str:
    """What the feed is, in words: "AI or Robotics from TechCrunch, quality ≥ 100"."""
    spec = feed.spec
    name = " or ".join(snapshot.topics[slug].name for slug in spec.topics)
    if spec.provider is not None:
        provider = snapshot.providers[spec.provider].name
        name = f"{name} from {provider}" if name else provider
    if spec.words:
        name = f"{name or 'Everything'} matching “{' '.join(spec.words)}”"
    conditions = []
    if spec.min_quality is not None:
        conditions.append(f"quality ≥ {spec.min_quality}")
    if spec.min_heat is not None:
        conditions.append(f"heat ≥ {spec.min_heat}")
    if spec.exclude:
        conditions.append("not from " + ", ".join(spec.exclude))
    if conditions:
        name = ", ".join([name or "Everything", *conditions])
    if feed.digest:
        return f"Daily digest: {name}" if name else "Daily digest"
    return name


def slug_of(feed: Feed, today: date) -> str:
    """What stands for a composed feed in cache keys: its canonical form, and for a
    digest the day it is made on, as the days it covers move at midnight."""
    return f"{feed.key}@{today.isoformat()}" if feed.digest else feed.key


def compose(
    snapshot: Snapshot,
    feed: Feed,
    need: int,
    site_title: str,
    base_url: str,
    today: date,
    items: ItemCache,
) -> Composed | None:
    """The group one page of ``feed`` renders: ``need`` articles at most, or the digest
    of the closed days before ``today``; None if a topic or provider does not exist."""
    groups = bases(snapshot, feed.spec)
    if groups is None:
        return None
    index = index_of(snapshot)
    name = title(snapshot, feed)
    logo = snapshot.providers[feed.spec.provider].logo if feed.spec.provider else None
    if feed.digest:
        days = index.digest(feed.spec, today)
        home = base_url + feed.home_path
        articles: tuple[Article, ...] = tuple(
            _digest_item(items, home, name or site_title, day, entries) for day, entries in days
        )
        what = f"{name} " if name else ""
        description = f"The day's top {what}articles on {site_title}, one item per day"
    else:
        articles = tuple(index.select(feed.spec, need))
        description = f"The latest articles: {name}, on {site_title}"
    version = max(group.version for group in groups)
    # Empty, it was last updated when its bases were (a digest: when its last day closed).
    since = datetime.combine(today, time(), tzinfo=UTC) if feed.digest else None
    updated = max((a.updated for a in articles), default=since or max(g.updated for g in groups))
    return Composed(
        "composed",
        slug_of(feed, today),
        name,
        articles,
        logo,
        version,
        updated,
        feed=feed,
        description=description,
        bases=groups,
    )


# --- Digest items ---------------------------------------------------------------


def _digest_item(
    items: ItemCache, home: str, name: str, day: date, entries: list[Article]
) -> DigestItem:
    """The day's item, kept in the app's item cache: the same articles give the same
    object, so its built RSS/Atom/JSON are reused. Keyed by the day's best article,
    with the others' ids in the variant (the cached item holds them, so those ids
    cannot be reused by other objects while it is kept)."""
    variant = (home, name, day, *map(id, entries[1:]))
    return items.get(
        entries[0], "digest", variant, lambda _, __, ___: _make(home, name, day, entries)
    )


def _make(home: str, name: str, day: date, entries: list[Article]) -> DigestItem:
    closed = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    top = entries[0]
    more = f", and {len(entries) - 1} more" if len(entries) > 1 else ""
    # The item's own picture (enclosure, thumbnail) is the best article's that has
    # one; every article's image is in the content's list.
    lead = next((a.images[0] for a in entries if a.images), None)
    return DigestItem(
        url=f"{home}digest/{day.isoformat()}",
        title=f"{day_name(day)}: {top.title}{more}",
        published=closed,
        # Edited after the day closed, an article makes the day's item updated too.
        modified=max(closed, *(a.updated for a in entries)),
        source="",
        excerpt=" · ".join(a.title for a in entries),
        images=(lead,) if lead else (),
        entries=tuple(entries),
        day=day,
        link=home,
    )


def digest_html(item: DigestItem) -> str:
    """A digest item's content: each article as a link with its provider and image."""
    lines = [f"<p>The top {len(item.entries)} of {day_name(item.day or EPOCH.date())}.</p>", "<ol>"]
    for article in item.entries:
        by = f" ({escape(article.provider.name)})" if article.provider else ""
        image = ""
        if article.images:
            first = article.images[0]
            size = f' width="{first.width}"' if first.width else ""
            size += f' height="{first.height}"' if first.height else ""
            image = f'<br><img src="{escape(first.url)}" alt="{escape(first.title or "")}"{size}>'
        lines.append(
            f'<li><a href="{escape(article.url)}">{escape(article.title)}</a>{by}{image}</li>'
        )
    lines.append("</ol>")
    return "\n".join(lines)
