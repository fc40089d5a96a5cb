"""Words for search: what ``?q=`` matches, and the inverted index that finds them.

A word is a run of letters and digits (``str.isalnum``) after case folding,
compatibility decomposition (NFKD) and removing the combining marks that leaves, so
"Café", "CAFE" and "cafe\u0301" are one word, "İstanbul" is "istanbul" and "ﬁle" is
"file". Matching is by whole words: "data" does not match "database".

Stored text and queries go through the one function :func:`words`, made of string
methods and a plain loop: no regular expression sees a query (no ReDoS), and what a
query asks for is spelled exactly as the index holds it.
"""

from __future__ import annotations

import unicodedata
from array import array
from collections import defaultdict
from collections.abc import Sequence

from .model import Article


def words(text: str) -> list[str]:
    """The words of ``text``, in order, repeats kept."""
    found: list[str] = []
    # Most whitespace-separated chunks are a plain ASCII word, which two C-level
    # checks recognise; only the rest (punctuation, accents, other scripts) are
    # taken apart character by character.
    for chunk in text.casefold().split():
        if chunk.isascii():
            if chunk.isalnum():
                found.append(chunk)
            else:
                found += _split(chunk)
        else:
            found += _split(_strip(chunk))
    return found


def _strip(chunk: str) -> str:
    """Decomposed (NFKD) without its combining marks, folded again ("ℌ" gives "H")."""
    decomposed = unicodedata.normalize("NFKD", chunk)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _split(chunk: str) -> list[str]:
    """The runs of letters and digits in ``chunk``."""
    found: list[str] = []
    start = -1
    for i, char in enumerate(chunk):
        if char.isalnum():
            if start < 0:
                start = i
        elif start >= 0:
            found.append(chunk[start:i])
            start = -1
    if start >= 0:
        found.append(chunk[start:])
    return found


def article_words(article: Article) -> set[str]:
    """The distinct words of an article's title and excerpt: what a search looks in."""
    text = article.title if not article.excerpt else f"{article.title}\n{article.excerpt}"
    return set(words(text))


Postings = dict[str, array]
EMPTY = array("i")  # the postings of a word no article has


def build_postings(articles: Sequence[Article]) -> Postings:
    """Each word → the ascending ids of the articles that contain it, where an
    article's id is its place in ``articles`` counted from the oldest (the last)."""
    # Arrays of C ints from the start: half a list's memory (a quarter with the list's
    # spare room), never two copies at once, and bisect works on them alike.
    postings: defaultdict[str, array] = defaultdict(lambda: array("i"))
    for ident, article in enumerate(reversed(articles)):
        for word in article_words(article):
            postings[word].append(ident)
    return dict(postings)


def update_postings(
    postings: Postings, old: Sequence[Article], new: Sequence[Article]
) -> Postings | None:
    """``postings`` of ``old`` brought up to ``new``, or None when only a rebuild can.

    Ids count from the oldest article, so articles newer than all of ``old`` take new
    ids and an article edited in place (same date and URL) keeps its own; only the
    words of those articles change. Anything else (a deletion, a backfill, a new
    date) moves ids, and the caller rebuilds. ``postings`` is not changed: the
    arrays of untouched words are shared, the touched ones copied.
    """
    added = len(new) - len(old)
    if added < 0:
        return None
    gone: dict[str, list[int]] = {}
    came: dict[str, list[int]] = {}
    last = len(new) - 1
    for ident, (before, after) in enumerate(zip(reversed(old), reversed(new), strict=False)):
        if before is after:
            continue
        if before.url != after.url or before.published != after.published:
            return None
        old_words, new_words = article_words(before), article_words(after)
        for word in old_words - new_words:
            gone.setdefault(word, []).append(ident)
        for word in new_words - old_words:
            came.setdefault(word, []).append(ident)
    appended: dict[str, list[int]] = {}
    for ident in range(len(old), len(new)):
        for word in article_words(new[last - ident]):
            appended.setdefault(word, []).append(ident)
    if not (gone or came or appended):
        return postings
    updated = dict(postings)
    for word in gone.keys() | came.keys() | appended.keys():
        if word not in gone and word not in came:
            # Only new articles: a copy with their ids on the end, in C.
            updated[word] = postings.get(word, EMPTY) + array("i", appended[word])
            continue
        ids = set(postings.get(word, ()))
        ids.difference_update(gone.get(word, ()))
        ids.update(came.get(word, ()))
        merged = sorted(ids)
        merged += appended.get(word, ())  # newer than everything before: still ascending
        if merged:
            updated[word] = array("i", merged)
        else:
            updated.pop(word, None)
    return updated
