"""Which topics changed: from the store's snapshots to the topic URLs whose bytes differ.

A snapshot keeps a group's ``version`` while what the group shows is unchanged,
so only groups with a new version are rendered (their canonical first page in
each format) and their ETags compared with the last ones told, which the storage
keeps: a change is published once for the whole deployment, and a restart or a
new leader does not publish it again.
"""

from __future__ import annotations

from collections.abc import Callable

from ..content.index import Group, Snapshot
from .delivery import Content
from .storage import Storage
from .topics import Topics


class Changes:
    def __init__(self, topics: Topics, storage: Storage, clock: Callable[[], float]):
        self.topics = topics
        self.storage = storage
        self.clock = clock
        self._versions: dict[tuple[str, str], int] | None = None

    def since_last(self, snapshot: Snapshot) -> list[Content]:
        """The topics whose bytes changed since the last call (or, on the first call,
        since they were last told: edits made while no leader ran)."""
        versions = {(group.kind, group.slug): group.version for group in snapshot.groups}
        if self._versions is None:
            told = self.storage.topic_etags()
            groups = [g for g in snapshot.groups if any(u in told for _, u in self.topics.urls(g))]
        else:
            old = self._versions
            groups = [g for g in snapshot.groups if old.get((g.kind, g.slug)) != g.version]
        self._versions = versions
        return [content for group in groups for content in self._changed(group)]

    def of_urls(self, urls: list[str], snapshot: Snapshot) -> list[Content]:
        """The changed topics among ``urls`` (from publish requests). A topic never told
        before only has its version noted: this store's own snapshots show its changes."""
        changed = []
        for url in urls:
            topic = self.topics.find(url, snapshot)
            if not isinstance(topic, str):
                changed += self._changed(topic.group, only=topic.fmt, new_counts=False)
        return changed

    def _changed(
        self, group: Group, only: str | None = None, new_counts: bool = True
    ) -> list[Content]:
        changed = []
        for fmt, url in self.topics.urls(group):
            if only is not None and fmt != only:
                continue
            rendered = self.topics.render(group, fmt)
            if self.storage.changed(url, rendered.etag, self.clock(), new_counts):
                changed.append(Content(url, rendered))
        return changed
