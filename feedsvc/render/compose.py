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

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote, urlencode

from markupsafe import escape

from ..content.index import EPOCH, Group, Snapshot
from ..content.model import Article
from ..content.select import Spec, index_of

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_name(day: date) -> str:
    # Spelled here, not by strftime, which follows the process locale.
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True, slots=True)
class Feed:
    """A composed feed's request: the spec, and whether it is the daily digest."""

    spec: Spec
    digest: bool = False

    @property
    def home_path(self) -> str:
        """The HTML page this feed belongs to (its alternate link)."""
        spec = self.spec
        path = ""
        if spec.topics:
            path = "/topics/" + "+".join(quote(slug, safe="") for slug in spec.topics)
        if spec.provider is not None:
            path += f"/providers/{quote(spec.provider, safe='')}"
        return path + "/"

    def path(self, fmt: str) -> str:
        return f"{self.home_path}{'digest' if self.digest else 'feed'}.{fmt}"

    def query(self) -> list[tuple[str, str]]:
        """The spec's parameters in canonical order, defaults left out."""
        spec = self.spec
        query = []
        if spec.exclude:
            query.append(("exclude", ",".join(spec.exclude)))
        if spec.min_heat is not None:
            query.append(("min_heat", str(spec.min_heat)))
        if spec.min_quality is not None:
            query.append(("min_quality", str(spec.min_quality)))
        if spec.words:
            query.append(("q", " ".join(spec.words)))
        return query

    @property
    def key(self) -> str:
        """The canonical form with the format left open: what cache keys hold."""
        return self.url("*")

    def url(self, fmt: str) -> str:
        """Path and canonical query, the feed's identity (its cache key starts from it)."""
        query = self.query()
        return self.path(fmt) + (f"?{urlencode(query, quote_via=quote)}" if query else "")


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


def compose(
    snapshot: Snapshot, feed: Feed, need: int, site_title: str, base_url: str, today: date
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
            _digest_item(home, name or site_title, day, entries) for day, entries in days
        )
        what = f"{name} " if name else ""
        description = f"The day's top {what}articles on {site_title}, one item per day"
    else:
        articles = tuple(index.select(feed.spec, need))
        description = f"The latest articles: {name}, on {site_title}"
    version = max(group.version for group in groups)
    return Composed(
        "composed",
        # A digest also depends on the day it is made: the days it covers move at midnight.
        f"{feed.key}@{today.isoformat()}" if feed.digest else feed.key,
        name,
        articles,
        logo,
        version,
        feed=feed,
        description=description,
        bases=groups,
    )


# --- Digest items ---------------------------------------------------------------

# Same day, same articles → the same DigestItem object, so the item cache (keyed by
# identity) serves its built forms again. A few feeds × 30 days; oldest out.
_MEMO_SIZE = 2048
_memo: dict[tuple, DigestItem] = {}
_memo_lock = threading.Lock()


def _digest_item(home: str, name: str, day: date, entries: list[Article]) -> DigestItem:
    key = (home, name, day, *map(id, entries))
    found = _memo.get(key)
    if found is not None and all(a is b for a, b in zip(found.entries, entries, strict=True)):
        return found
    closed = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    top = entries[0]
    more = f", and {len(entries) - 1} more" if len(entries) > 1 else ""
    # The item's own picture (enclosure, thumbnail) is the best article's that has
    # one; every article's image is in the content's list.
    lead = next((a.images[0] for a in entries if a.images), None)
    item = DigestItem(
        url=f"{home}digest/{day.isoformat()}",
        title=f"{day_name(day)}: {top.title}{more}",
        published=closed,
        source="",
        excerpt=" · ".join(a.title for a in entries),
        images=(lead,) if lead else (),
        entries=tuple(entries),
        day=day,
    )
    with _memo_lock:
        if len(_memo) >= _MEMO_SIZE:
            del _memo[next(iter(_memo))]
        _memo[key] = item
    return item


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
