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
from bisect import bisect_left
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


def update_postings(postings: Postings, old: Sequence[Article], new: Sequence[Article]) -> Postings:
    """``postings`` of ``old`` brought up to ``new``, touching only what changed.

    Ids count from the oldest article. Articles the two share (same URL and date)
    keep their order, so old ids map to new ones monotonically: ids below the oldest
    change stay as they are, and only postings from there up are renumbered. A new
    article on top or an edit in place moves nothing (only its words are touched);
    a deletion or a backfill renumbers what is newer than it, so a recent one is
    cheap and an old one costs at most a pass over the postings in C-backed arrays,
    still well below a rebuild. ``postings`` is not changed: untouched arrays are
    shared, the rest copied.
    """
    old_count, new_count = len(old), len(new)
    # The oldest articles both hold as the same objects: nothing there moves.
    same = 0
    for before, after in zip(reversed(old), reversed(new), strict=False):
        if before is not after:
            break
        same += 1
    if same == old_count == new_count:
        return postings
    new_ids = {new[new_count - 1 - j].url: j for j in range(same, new_count)}
    remap = list(range(same))  # old id -> new id, or -1 for an article that left
    moved = old_count  # the lowest old id whose new id differs from it
    kept_new: set[int] = set()
    gone: dict[str, set[int]] = {}  # words an edited article lost, by new id
    came: dict[str, set[int]] = {}  # words new, backfilled or edited articles brought
    for ident in range(same, old_count):
        before = old[old_count - 1 - ident]
        target = new_ids.get(before.url, -1)
        now = new[new_count - 1 - target] if target >= 0 else None
        if now is None or now.published != before.published:
            target = -1  # gone, or moved to another date: its new self comes below
        remap.append(target)
        if target != ident:
            moved = min(moved, ident)
        if now is None or target < 0:
            continue
        kept_new.add(target)
        if now is not before:
            old_words, new_words = article_words(before), article_words(now)
            for word in old_words - new_words:
                gone.setdefault(word, set()).add(target)
            for word in new_words - old_words:
                came.setdefault(word, set()).add(target)
    for target in range(same, new_count):
        if target not in kept_new:
            for word in article_words(new[new_count - 1 - target]):
                came.setdefault(word, set()).add(target)
    updated: Postings = {}
    for word, ids in postings.items():
        cut = bisect_left(ids, moved)
        if cut < len(ids):
            # Monotone: the renumbered tail stays ascending.
            tail = [t for t in map(remap.__getitem__, ids[cut:]) if t >= 0]
            ids = ids[:cut] + array("i", tail)
        if ids:
            updated[word] = ids
    for word in gone.keys() | came.keys():
        ids = updated.get(word, EMPTY)
        lost, brought = gone.get(word, set()), came.get(word, set())
        if not lost and brought and min(brought) > (ids[-1] if ids else -1):
            ids = ids + array("i", sorted(brought))  # all newer: on the end, in C
        else:
            ids = array("i", sorted(set(ids).difference(lost).union(brought)))
        if ids:
            updated[word] = ids
        else:
            updated.pop(word, None)
    return updated
