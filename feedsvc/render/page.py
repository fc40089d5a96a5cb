"""What a feed document is: a page of a group's articles in one format, for one site."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..content.index import Group
from ..content.model import Article
from . import urls
from .compose import Composed, DigestItem
from .urls import feed_path, group_path

DEFAULT_LIMIT = urls.FEED_QUERY.defaults["limit"]


@dataclass(frozen=True, slots=True)
class Site:
    """The settings every feed shows: from the app's config."""

    title: str
    description: str
    language: str
    base_url: str  # absolute, no trailing slash
    hubs: tuple[str, ...] = ()  # WebSub hubs every feed announces
    poll_seconds: int = 900  # how often a reader should look (Cache-Control max-age)

    @property
    def icon(self) -> str:
        return self.base_url + urls.SITE_IMAGE.path(image="favicon.ico")

    @property
    def logo(self) -> str:
        return self.base_url + urls.SITE_IMAGE.path(image="logo.png")


# The shipped logo's size (feedsvc/web/static/logo.png), within RSS's 144x400.
LOGO_SIZE = 128


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One document to render: a page of a group's articles in one format."""

    site: Site
    group: Group
    fmt: str
    limit: int
    page: int = 1

    @classmethod
    def of_query(cls, site: Site, group: Group, fmt: str, query: Mapping[str, Any]) -> FeedPage:
        """The page a feed URL's query values (urls.FEED_QUERY) ask for."""
        return cls(site, group, fmt, query["limit"], query["page"])

    @property
    def items(self) -> tuple[Article, ...]:
        start = (self.page - 1) * self.limit
        return self.group.articles[start : start + self.limit]

    @property
    def exists(self) -> bool:
        return self.page == 1 or bool(self.items)

    @property
    def has_next(self) -> bool:
        return self.page * self.limit < len(self.group.articles)

    @property
    def title(self) -> str:
        return f"{self.site.title}: {self.group.name}" if self.group.name else self.site.title

    @property
    def description(self) -> str:
        if isinstance(self.group, Composed):
            return self.group.description
        if self.group.kind == "topic":
            return f"The latest articles about {self.group.name} on {self.site.title}"
        if self.group.kind == "provider":
            return f"The latest articles from {self.group.name} on {self.site.title}"
        return self.site.description

    def url(self, page: int | None = None, fmt: str | None = None) -> str:
        """Absolute URL of this feed, of another page of it, or of it in another format."""
        page = self.page if page is None else page
        fmt = fmt or self.fmt
        if isinstance(self.group, Composed):
            return self.site.base_url + self.group.feed.url(fmt, self.limit, page)
        query = urls.FEED_QUERY.spell({"limit": self.limit, "page": page})
        suffix = f"?{query}" if query else ""
        return self.site.base_url + feed_path(self.group, fmt) + suffix

    @property
    def feed_id(self) -> str:
        """Stable across pages and limits; a composed feed's own parameters are part of it."""
        if isinstance(self.group, Composed):
            return self.site.base_url + self.group.feed.url(self.fmt)
        return self.site.base_url + feed_path(self.group, self.fmt)

    @property
    def home(self) -> str:
        return self.site.base_url + group_path(self.group)

    def paging(self) -> list[tuple[str, str]]:
        """RFC 5005 links: first always; previous and next where they exist."""
        links = [("first", self.url(page=1))]
        if self.page > 1:
            links.append(("previous", self.url(page=self.page - 1)))
        if self.has_next:
            links.append(("next", self.url(page=self.page + 1)))
        return links


def iso_date(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, as JSON Feed, the catalog and the pages write dates."""
    return value.isoformat().replace("+00:00", "Z")


def author(page: FeedPage, article: Article) -> tuple[str, str]:
    """The provider, or the site itself when the article names none."""
    if article.provider is not None:
        return article.provider.name, article.provider.home or page.home
    return page.site.title, page.home


def item_link(article: Article) -> str:
    """Where an item links: the article, or for a digest day the feed's own page (the
    day's id names it but is no page of its own)."""
    return article.link if isinstance(article, DigestItem) else article.url


def permalink(article: Article) -> bool:
    """Whether the item's id is also a page to open (a digest day's is not)."""
    return not isinstance(article, DigestItem)
