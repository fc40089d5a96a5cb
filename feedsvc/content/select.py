"""Composed feeds chosen from the index: unions, intersections, thresholds, search, days.

Every served article has an integer id, its place in the snapshot counted from the
oldest, so a group's members form an ascending array and "newest first" is walking
it from the end. A union is a merge of such arrays, an intersection walks the
shortest and finds the rest by bisection from where the last look stopped, and a
page needs only its first ``need`` matches, so the walk stops there. Thresholds,
exclusions and the day a digest covers are checked on the candidates the arrays give.

The arrays are made from the snapshot on first use and kept with it (a snapshot is
never changed), so loading the store costs no more than before. The word index for
``q=`` costs the most to make: it is built on the first search, and each later
snapshot brings the previous one's up to date instead: ids counted from the oldest
stay put when articles arrive or are edited in place, and move only above a
deletion or a backfill, so a change costs the next search the words of the
changed articles and a renumbering of what is newer than them, not a rebuild.
"""

from __future__ import annotations

import heapq
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .index import Group, Snapshot
from .model import Article
from .words import EMPTY, Postings, build_postings, update_postings

DIGEST_DAYS = 30
DIGEST_SIZE = 10


@dataclass(frozen=True, slots=True)
class Spec:
    """What a composed feed shows; each field is in its one canonical form.

    ``topics`` (slugs, sorted, distinct) are a union; with ``provider`` only that
    provider's articles; ``words`` (folded, sorted, distinct) must all be in the title
    or excerpt; an article lacking ``quality`` or ``heat`` fails that threshold;
    ``exclude`` (domains, sorted, distinct) leaves those providers out.
    """

    topics: tuple[str, ...] = ()
    provider: str | None = None
    min_quality: int | None = None
    min_heat: int | None = None
    words: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def _domain(article: Article) -> str | None:
    return article.provider.domain if article.provider is not None else None


def passes(spec: Spec, article: Article) -> bool:
    """The thresholds and exclusions: what is checked per article, not by the arrays."""
    if spec.min_quality is not None and (
        article.quality is None or article.quality < spec.min_quality
    ):
        return False
    if spec.min_heat is not None and (article.heat is None or article.heat < spec.min_heat):
        return False
    return not (spec.exclude and _domain(article) in spec.exclude)


def index_of(snapshot: Snapshot) -> Index:
    """The snapshot's index, made on first use (two threads may both make one; one is kept)."""
    found = snapshot.derived.get("select")
    if found is None:
        found = snapshot.derived.setdefault("select", Index(snapshot))
    return found


def carry_words(previous: Snapshot, snapshot: Snapshot) -> None:
    """Hand the previous snapshot's word index (or what it was handed) to the next one,
    which brings it up to date on its first search."""
    old = previous.derived.get("select")
    carried = old._built_or_carried() if old is not None else previous.derived.get("words")
    if carried is not None:
        snapshot.derived["words"] = carried


class Index:
    """The arrays of one snapshot, made on first use; safe to share between threads."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.articles = snapshot.articles
        self.last = len(self.articles) - 1
        self._lock = threading.Lock()
        self._ids: dict[int, int] | None = None
        self._members: dict[tuple[str, str], array] = {}
        self._postings: Postings | None = None
        self._times: list[float] | None = None
        self.word_index_rebuilt = False  # for tests and benchmarks: built, not updated

    def article(self, ident: int) -> Article:
        return self.articles[self.last - ident]

    def members(self, group: Group) -> array:
        """The ids of a group's articles, ascending."""
        key = (group.kind, group.slug)
        found = self._members.get(key)
        if found is not None:
            return found
        if group.kind == "all":
            found = array("i", range(len(self.articles)))
        else:
            ids = self._id_of()
            found = array("i", map(ids.__getitem__, map(id, reversed(group.articles))))
        with self._lock:
            self._members[key] = found
        return found

    def _id_of(self) -> dict[int, int]:
        # By identity: a group holds the very Article objects the snapshot serves.
        if self._ids is None:
            with self._lock:
                if self._ids is None:
                    last = self.last
                    self._ids = {id(a): last - i for i, a in enumerate(self.articles)}
        return self._ids

    def postings(self, word: str) -> array:
        if self._postings is None:
            with self._lock:
                if self._postings is None:
                    self._postings = self._make_postings()
        return self._postings.get(word, EMPTY)

    def _make_postings(self) -> Postings:
        carried = self.snapshot.derived.pop("words", None)
        if carried is not None:
            postings, articles = carried
            return update_postings(postings, articles, self.articles)
        self.word_index_rebuilt = True
        return build_postings(self.articles)

    def _built_or_carried(self) -> tuple[Postings, tuple[Article, ...]] | None:
        if self._postings is not None:
            return self._postings, self.articles
        return self.snapshot.derived.get("words")

    def day_range(self, day: date) -> tuple[int, int]:
        """The ids of articles published on ``day`` (UTC): [lo, hi)."""
        if self._times is None:
            with self._lock:
                if self._times is None:
                    self._times = [a.published.timestamp() for a in reversed(self.articles)]
        start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        return bisect_left(self._times, start), bisect_left(self._times, start + 86400)

    def select(self, spec: Spec, need: int, lo: int = 0, hi: int | None = None) -> list[Article]:
        """The newest ``need`` articles with ids in [lo, hi) that ``spec`` selects."""
        hi = len(self.articles) if hi is None else hi
        snapshot = self.snapshot
        required: list[array] = []
        if spec.provider is not None:
            group = snapshot.providers.get(spec.provider)
            if group is None:
                return []
            required.append(self.members(group))
        required += [self.postings(word) for word in spec.words]
        union = [self.members(snapshot.topics[slug]) for slug in spec.topics]
        if len(union) == 1:
            required += union
            union = []
        if not required and not union:
            required.append(self.members(snapshot.everything))
        if need <= 0 or any(len(ids) == 0 for ids in required):
            return []
        result: list[Article] = []
        filtered = spec.min_quality is not None or spec.min_heat is not None or spec.exclude
        articles, last = self.articles, self.last
        if len(required) == 1 and not union and not filtered:
            # One group as it is (a topic's digest): its newest ids in range, sliced.
            ids = required[0]
            ids = ids[max(bisect_left(ids, lo), bisect_left(ids, hi) - need) : bisect_left(ids, hi)]
            return [articles[last - ident] for ident in reversed(ids)]
        for candidate in _newest_first(required, union, lo, hi):
            article = articles[last - candidate]
            if filtered and not passes(spec, article):
                continue
            result.append(article)
            if len(result) >= need:
                break
        return result

    def digest(self, spec: Spec, today: date) -> list[tuple[date, list[Article]]]:
        """The closed days before ``today``, newest first, each with its top articles:
        most heat, then quality, then newest; days without articles left out."""
        days = []
        for back in range(1, DIGEST_DAYS + 1):
            day = today - timedelta(days=back)
            lo, hi = self.day_range(day)
            if lo >= hi:
                continue
            chosen = self.select(spec, hi - lo, lo, hi)
            if chosen:
                ranked = sorted(enumerate(chosen), key=_rank)[:DIGEST_SIZE]
                days.append((day, [article for _, article in ranked]))
        return days


def _rank(item: tuple[int, Article]) -> tuple[int, int, int]:
    # Most heat, then quality, then newest (the order select gives); a missing field
    # ranks below every value.
    order, article = item
    heat = -1 if article.heat is None else article.heat
    quality = -1 if article.quality is None else article.quality
    return (-heat, -quality, order)


def _newest_first(required: list[array], union: list[array], lo: int, hi: int) -> Iterator[int]:
    """Ids in [lo, hi), descending, in every ``required`` array and in one of ``union``."""
    if required:
        required = sorted(required, key=len)
        driver, others = required[0], required[1:]
        stream: Iterator[int] = reversed(driver[bisect_left(driver, lo) : bisect_left(driver, hi)])
    else:
        others = []
        stream = _merged(union, lo, hi)
        union = []
    # One bound per array: probes descend, so each bisection searches only below the last.
    bounds = [len(ids) for ids in others]
    union_bounds = [len(ids) for ids in union]
    for candidate in stream:
        for n, ids in enumerate(others):
            at = bisect_left(ids, candidate, 0, bounds[n])
            if at == bounds[n] or ids[at] != candidate:
                bounds[n] = at
                break
            bounds[n] = at
        else:
            if not union:
                yield candidate
                continue
            for n, ids in enumerate(union):
                at = bisect_left(ids, candidate, 0, union_bounds[n])
                union_bounds[n] = at
                if at < len(ids) and ids[at] == candidate:
                    yield candidate
                    break


def _merged(arrays: list[array], lo: int, hi: int) -> Iterator[int]:
    """The union of ascending arrays within [lo, hi), descending, each id once."""
    last = -1
    parts = [reversed(ids[bisect_left(ids, lo) : bisect_left(ids, hi)]) for ids in arrays]
    for candidate in heapq.merge(*parts, reverse=True):
        if candidate != last:
            last = candidate
            yield candidate
