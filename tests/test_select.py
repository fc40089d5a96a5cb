"""Composed selections from the index agree with a brute-force filter over the same store."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.content.index import Snapshot, build_snapshot
from feedsvc.content.model import Article, Provider
from feedsvc.content.select import DIGEST_DAYS, DIGEST_SIZE, Spec, carry_words, index_of
from feedsvc.content.words import article_words, build_postings, words

TOPICS = ("AI", "Robotics", "Privacy", "Café Culture")
DOMAINS = ("a.example", "b.example", "c.example")
VOCABULARY = ("data", "Model", "café", "CAFE", "naïve", "İstanbul", "東京", "robot", "x½y", "data,")
START = datetime(2024, 5, 1, tzinfo=UTC)

settings.register_profile("select", deadline=None, max_examples=60)


@st.composite
def articles(draw) -> list[Article]:
    count = draw(st.integers(0, 40))
    made = []
    for n in range(count):
        text = st.lists(st.sampled_from(VOCABULARY), max_size=5).map(" ".join)
        domain = draw(st.sampled_from((*DOMAINS, None)))
        made.append(
            Article(
                url=f"https://n.example.com/{n}",
                title=draw(text) or "untitled",
                excerpt=draw(st.none() | text),
                published=START + timedelta(hours=draw(st.integers(0, 24 * 40))),
                source=f"{n}.txt",
                provider=Provider(domain.upper(), domain) if domain else None,
                topics=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=3, unique=True))),
                quality=draw(st.none() | st.integers(0, 150)),
                heat=draw(st.none() | st.integers(0, 150)),
            )
        )
    return made


def snapshot_of(made: list[Article]) -> Snapshot:
    return build_snapshot(made, [])


@st.composite
def specs(draw, snapshot: Snapshot) -> Spec:
    slugs = sorted(snapshot.topics)
    topics = draw(st.lists(st.sampled_from(slugs), unique=True)) if slugs else []
    domains = sorted(snapshot.providers)
    provider = draw(st.none() | st.sampled_from(domains)) if domains else None
    query = draw(st.lists(st.sampled_from(VOCABULARY), max_size=2))
    return Spec(
        topics=tuple(sorted(topics)),
        provider=provider,
        min_quality=draw(st.none() | st.integers(0, 150)),
        min_heat=draw(st.none() | st.integers(0, 150)),
        words=tuple(sorted(set(words(" ".join(query))))),
        exclude=tuple(sorted(draw(st.lists(st.sampled_from(DOMAINS), unique=True)))),
    )


def brute_force(snapshot: Snapshot, spec: Spec) -> list[Article]:
    """Every served article, newest first, checked against each rule on its own."""
    chosen = []
    for article in snapshot.articles:
        if spec.topics and not any(
            any(a is article for a in snapshot.topics[slug].articles) for slug in spec.topics
        ):
            continue
        domain = article.provider.domain if article.provider else None
        if spec.provider is not None and domain != spec.provider:
            continue
        if spec.min_quality is not None and not (
            article.quality is not None and article.quality >= spec.min_quality
        ):
            continue
        if spec.min_heat is not None and not (
            article.heat is not None and article.heat >= spec.min_heat
        ):
            continue
        if domain in spec.exclude:
            continue
        if not set(spec.words) <= article_words(article):
            continue
        chosen.append(article)
    return chosen


@pytest.mark.slow
@settings(settings.get_profile("select"), suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_selection_matches_a_brute_force_filter(data):
    snapshot = snapshot_of(data.draw(articles()))
    spec = data.draw(specs(snapshot))
    need = data.draw(st.integers(1, 50))
    expected = brute_force(snapshot, spec)
    got = index_of(snapshot).select(spec, need)
    assert [a.url for a in got] == [a.url for a in expected[:need]]
    assert all(a is b for a, b in zip(got, expected, strict=False))  # each article once


@pytest.mark.slow
@settings(settings.get_profile("select"), suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_digest_is_each_closed_days_top_ten(data):
    snapshot = snapshot_of(data.draw(articles()))
    spec = data.draw(specs(snapshot))
    today = data.draw(st.dates(date(2024, 5, 1), date(2024, 6, 15)))
    matching = brute_force(snapshot, spec)
    expected = []
    for back in range(1, DIGEST_DAYS + 1):
        day = today - timedelta(days=back)
        of_day = [a for a in matching if a.published.date() == day]
        # Most heat, then quality, then newest; a missing field below every value.
        of_day.sort(
            key=lambda a: (
                -(a.heat if a.heat is not None else -1),
                -(a.quality if a.quality is not None else -1),
                -a.published.timestamp(),
                a.url,
            )
        )
        if of_day:
            expected.append((day, [a.url for a in of_day[:DIGEST_SIZE]]))
    got = index_of(snapshot).digest(spec, today)
    assert [(day, [a.url for a in chosen]) for day, chosen in got] == expected


def test_a_union_lists_an_article_in_several_topics_once():
    both = Article("https://x.example/1", "t", START, "1.txt", topics=("AI", "Robotics"))
    snapshot = snapshot_of([both])
    spec = Spec(topics=tuple(sorted(snapshot.topics)))
    assert index_of(snapshot).select(spec, 10) == [both]


@pytest.mark.slow
@settings(deadline=None, max_examples=300)
@given(st.text())
def test_words_ignore_case_accents_and_normal_forms(text):
    folded = words(text)
    assert words(unicodedata.normalize("NFD", text)) == folded
    assert words(unicodedata.normalize("NFKC", text)) == folded
    assert words(text.casefold()) == folded
    for word in folded:
        assert word and all(c.isalnum() for c in word)
        assert words(word) == [word]  # a query for a word finds it


def test_words_are_whole_and_accent_blind():
    assert words("Café, CAFE and cafe\u0301!") == ["cafe", "cafe", "and", "cafe"]
    assert words("İstanbul") == ["istanbul"]
    assert "data" not in words("database")
    assert words("a" * 10_000 + "!") == ["a" * 10_000]


# --- The word index across snapshots -------------------------------------------


def _article(n: int, title: str, hours: int) -> Article:
    return Article(f"https://n.example.com/{n}", title, START + timedelta(hours=hours), f"{n}.txt")


def _next(previous: Snapshot, made: list[Article]) -> Snapshot:
    snapshot = build_snapshot(made, [], previous=previous, generation=previous.generation + 1)
    carry_words(previous, snapshot)
    return snapshot


def _postings(snapshot: Snapshot) -> dict[str, list[int]]:
    index = index_of(snapshot)
    index.postings("")
    assert index._postings is not None
    return {word: list(ids) for word, ids in index._postings.items()}


def _rebuilt(snapshot: Snapshot) -> dict[str, list[int]]:
    return {word: list(ids) for word, ids in build_postings(snapshot.articles).items()}


def test_the_word_index_follows_new_and_edited_articles_without_a_rebuild():
    made = [_article(n, f"robot data {n}", n) for n in range(5)]
    first = snapshot_of(made)
    assert _postings(first) == _rebuilt(first)
    # Two edits in between, no search: the next search brings the index up to date.
    second = _next(first, [*made, _article(9, "fresh news", 100)])
    made[2] = replace(made[2], title="robot lapse")
    third = _next(second, [*made, _article(9, "fresh news", 100)])
    assert _postings(third) == _rebuilt(third)
    assert not index_of(third).word_index_rebuilt
    assert [a.url for a in index_of(third).select(Spec(words=("lapse",)), 10)] == [made[2].url]
    assert index_of(third).select(Spec(words=("2",)), 10) == []
    # The first snapshot's index is untouched by the update.
    assert _postings(first) == _rebuilt(first)


def test_deletions_and_backfills_renumber_the_word_index_without_a_rebuild():
    made = [_article(n, f"robot {n}", 10 * n) for n in range(5)]
    first = snapshot_of(made)
    _postings(first)
    older = replace(_article(9, "robot backfilled", 0), published=START - timedelta(days=1))
    second = _next(first, [older, *made[:2], *made[3:]])
    assert _postings(second) == _rebuilt(second)
    assert not index_of(second).word_index_rebuilt
    assert [a.url for a in index_of(second).select(Spec(words=("robot",)), 10)] == [
        a.url for a in second.articles
    ]


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["add", "edit", "delete", "backfill", "search"]),
        st.integers(0, 1000),
        st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3).map(" ".join),
    ),
    max_size=12,
)


@pytest.mark.slow
@settings(deadline=None, max_examples=60)
@given(OPERATIONS)
def test_the_word_index_stays_right_through_any_sequence_of_changes(operations):
    made = [_article(n, f"robot data {n}", 10 * n) for n in range(4)]
    snapshot = snapshot_of(made)
    _postings(snapshot)
    serial = 100
    for operation, pick, text in operations:
        serial += 1
        if operation == "add":
            newest = max((a.published for a in made), default=START)
            made.append(replace(_article(serial, text, 0), published=newest + timedelta(hours=1)))
        elif operation == "backfill":
            made.append(replace(_article(serial, text, 0), published=START - timedelta(hours=pick)))
        elif made and operation == "edit":
            made[pick % len(made)] = replace(made[pick % len(made)], title=text)
        elif made and operation == "delete":
            del made[pick % len(made)]
        snapshot = _next(snapshot, list(made))
        if operation == "search" or pick % 2:
            assert _postings(snapshot) == _rebuilt(snapshot)
    assert _postings(snapshot) == _rebuilt(snapshot)
