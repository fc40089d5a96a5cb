"""The index: one immutable :class:`Snapshot` of the store, grouped into feeds.

Articles are deduplicated by webUrl, hidden ones dropped, and grouped by topic and
provider, newest first. A group keeps its ``version`` while what it shows is
unchanged, so rendered bytes cached under it stay valid across edits elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from .model import Article, Image, Problem
from .slugs import legacy_slugs, topic_key, topic_slug

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, eq=False)
class Group:
    """The articles of one feed (everything, one topic or one provider), newest first.

    ``version`` changes only when something this feed shows changes, so rendered
    bytes cached under it stay valid across edits elsewhere in the store.
    """

    kind: str  # "all", "topic" or "provider"
    slug: str
    name: str
    articles: tuple[Article, ...]
    logo: Image | None = None
    version: int = 0
    updated: datetime = EPOCH  # the newest ``updated`` of its articles

    def same_content(self, other: Group | None) -> bool:
        return (
            other is not None
            and other.name == self.name
            and other.logo == self.logo
            and len(other.articles) == len(self.articles)
            and all(a is b for a, b in zip(other.articles, self.articles, strict=True))
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent view of the store; replaced whole, never changed."""

    everything: Group
    topics: Mapping[str, Group]
    providers: Mapping[str, Group]
    topic_aliases: Mapping[str, str]
    problems: tuple[Problem, ...]
    files: int
    generation: int
    loaded_at: float
    load_seconds: float
    changed_at: float = 0.0  # newest file or folder time in the store (Store sets it)
    # What is derived from the snapshot on first use and kept with it (select.index_of).
    derived: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def articles(self) -> tuple[Article, ...]:
        return self.everything.articles

    @property
    def groups(self) -> list[Group]:
        """Every feed: everything, then each topic, then each provider."""
        return [self.everything, *self.topics.values(), *self.providers.values()]

    @property
    def skipped(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.skipped)

    def group(self, kind: str, slug: str) -> Group | None:
        if kind == "all":
            return self.everything
        if kind == "topic":
            return self.topics.get(slug.lower())
        if kind == "provider":
            return self.providers.get(slug.lower())
        return None

    def moved_topic(self, slug: str) -> str | None:
        """The slug a topic has now, for a slug it was served under before (a 301)."""
        return self.topic_aliases.get(slug.lower())


def _newest_first(article: Article) -> tuple:
    # Ties broken by URL so the same store always gives the same order.
    return (-article.published.timestamp(), article.url)


def build_snapshot(
    articles: Iterator[Article] | list[Article],
    problems: list[Problem],
    *,
    previous: Snapshot | None = None,
    generation: int = 1,
    files: int = 0,
) -> Snapshot:
    """Dedupe by webUrl, drop hidden articles, and index by topic and provider."""
    problems = list(problems)
    by_url: dict[str, Article] = {}
    for article in articles:
        kept = by_url.get(article.url)
        if kept is None:
            by_url[article.url] = article
            continue
        # Same webUrl: one article. The newest date wins; the path breaks ties.
        winner, loser = sorted((kept, article), key=lambda a: (-a.published.timestamp(), a.source))
        by_url[article.url] = winner
        problems.append(
            Problem(loser.source, f"same webUrl as {winner.source}, which is newer; skipped")
        )
    served = sorted((a for a in by_url.values() if a.visible), key=_newest_first)

    topic_members: dict[str, list[Article]] = {}
    topic_names: dict[str, dict[str, int]] = {}
    provider_members: dict[str, list[Article]] = {}
    keys: dict[str, str] = {}  # a few hundred names spelled out over every article
    for article in served:
        for name in article.topics:
            key = keys.get(name)
            if key is None:
                key = keys[name] = topic_key(name)
            topic_members.setdefault(key, []).append(article)
            spellings = topic_names.setdefault(key, {})
            spellings[name] = spellings.get(name, 0) + 1
        if article.provider is not None and article.provider.domain:
            provider_members.setdefault(article.provider.domain, []).append(article)

    def reuse(group: Group, old: Group | None) -> Group:
        if old is not None and group.same_content(old):
            return old
        updated = max((a.updated for a in group.articles), default=EPOCH)
        return Group(
            group.kind, group.slug, group.name, group.articles, group.logo, generation, updated
        )

    old_topics = previous.topics if previous else {}
    old_providers = previous.providers if previous else {}
    topics: dict[str, Group] = {}
    aliases: dict[str, str] = {}
    legacy = legacy_slugs(topic_members)
    for key, members in topic_members.items():
        slug = topic_slug(key)
        # The most used spelling names the topic; ties go to the first in code-point order.
        name = min(topic_names[key].items(), key=lambda item: (-item[1], item[0]))[0]
        topics[slug] = reuse(Group("topic", slug, name, tuple(members)), old_topics.get(slug))
        for alias in legacy[key]:
            aliases[alias] = slug
    providers: dict[str, Group] = {}
    for domain, members in provider_members.items():
        # The newest article names the provider and gives its logo.
        newest = members[0].provider
        assert newest is not None  # grouped by their provider above
        name = newest.name
        logo = next((a.provider.logo for a in members if a.provider and a.provider.logo), None)
        providers[domain] = reuse(
            Group("provider", domain, name, tuple(members), logo), old_providers.get(domain)
        )
    everything = reuse(
        Group("all", "", "", tuple(served)), previous.everything if previous else None
    )
    problems.sort(key=lambda p: p.source)
    return Snapshot(
        everything=everything,
        topics=MappingProxyType(dict(sorted(topics.items()))),
        providers=MappingProxyType(dict(sorted(providers.items()))),
        # A slug that names a topic now is never a redirect.
        topic_aliases=MappingProxyType(
            {old: new for old, new in sorted(aliases.items()) if old not in topics}
        ),
        problems=tuple(problems),
        files=files,
        generation=generation,
        loaded_at=0.0,
        load_seconds=0.0,
    )
