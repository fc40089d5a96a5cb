"""A fast path for the front matter that every store file has, with PyYAML's exact results.

PyYAML's libyaml loader still builds every value in Python, the largest part of a
cold start; ``yaml_rs`` (Rust) parses the same text several times faster.
But it reads YAML 1.2 and PyYAML reads 1.1, and they disagree on plain scalars
(``yes``, ``on``, ``012``, ``1e3``, ``0o7``, dates), on duplicate keys and on
characters PyYAML refuses. So the fast path takes only front matter made of lines
whose every value means the same in both: double-quoted strings with simple
escapes, decimal integers, ``true``/``false``, plain words that no schema reads as
anything but text, and ISO date-times that exist. Anything else (a 31st of
February, nesting near the loader's bounds), or any error, returns None and the
caller parses with PyYAML, so a file's result or its error message never depends on
which path read it.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import ModuleType

yaml_rs: ModuleType | None
try:
    import yaml_rs
except ImportError:  # the fast path is optional
    yaml_rs = None

# Words YAML 1.1 or 1.2 reads as booleans or null when plain: not taken as keys.
_SPECIAL = r"(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)"
# Values only 1.1 reads as booleans (true, false and null read alike in both).
_YES_NO = r"(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)"
_KEY = rf"(?!{_SPECIAL}:)[A-Za-z_][A-Za-z0-9_]*"
# Printable characters both parsers accept inside double quotes; escapes limited to
# the ones both decode alike.
_QUOTED = r'"(?:[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]++|\\["\\/nt]|\\u(?![dD][89abAB])[0-9a-fA-F]{4}|\\U000[0-9a-fA-F]{5})*+"'
# yaml_rs reads date-like text as a date even when quoted; PyYAML never does.
_QUOTED_DATE = re.compile(r'"[+-]?[0-9]{4,}-')
_INT = r"-?(?:0|[1-9][0-9]{0,17})"
_STAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
_WORD = rf"(?!{_YES_NO}\n)[A-Za-z](?:[A-Za-z0-9 _.-]*+(?<! ))?"
_SCALAR = rf"(?:{_QUOTED}|{_INT}(?=\n)|true(?=\n)|false(?=\n)|\[\](?=\n)|{_WORD})"
# One line: "key:", "key: value", "- value", "- key: value" (any indent), or blank.
# Date-times only as a key's value, where _KEY_STAMP below finds them all.
_LINE = rf"(?> *(?:-[ ]+)*(?:{_KEY}:(?:[ ]+(?:{_STAMP}(?=\n)|{_SCALAR}))?|-|(?<=- ){_SCALAR})| *)\n"
_SIMPLE = re.compile(rf"(?:{_LINE})*+")

_KEY_STAMP = re.compile(rf": +({_STAMP})\n")


def within(text: str, max_depth: int, max_nodes: int) -> bool:
    """True if ``text`` (already a simple shape) surely nests less than ``max_depth``
    and holds fewer than ``max_nodes`` values. yaml_rs recurses without a limit and
    crashes the process on deep nesting, so anything near a bound goes to PyYAML,
    whose composer enforces the bounds and names them.

    Every level of nesting takes at least one character of the indentation and
    dashes that open a line, so no line may open with ``max_depth - 2`` of them. A
    line holds at most a mapping, a key and a value, plus an item per dash; every
    dash in the text is counted, which over-counts but needs no per-line pass.
    """
    run = max(max_depth - 2, 0)
    deep = _DEEP.get(run)
    if deep is None:
        deep = _DEEP[run] = (re.compile(f"[ -]{{{run}}}"), re.compile(f"\n[ -]{{{run}}}"))
    if deep[0].match(text) or deep[1].search(text):
        return False
    return 3 * (text.count("\n") + 1) + text.count("-") < max_nodes


_DEEP: dict[int, tuple[re.Pattern[str], re.Pattern[str]]] = {}


def _stamp_exists(stamp: str) -> bool:
    """True if PyYAML's timestamp constructor surely accepts ``stamp`` (a :data:`_STAMP`).

    It raises only for a day or time of day that does not exist, or an offset of a
    day or more; checked here from the fixed positions, at a fraction of its cost.
    """
    try:
        datetime(int(stamp[:4]), int(stamp[5:7]), int(stamp[8:10]))
    except ValueError:
        return False
    if int(stamp[11:13]) > 23 or int(stamp[14:16]) > 59 or int(stamp[17:19]) > 59:
        return False
    return stamp[-1] == "Z" or int(stamp[-5:-3]) * 60 + int(stamp[-2:]) < 24 * 60


def load(text: str, max_depth: int, max_nodes: int) -> object | None:
    """PyYAML's safe-load result for ``text``, or None when only PyYAML can tell."""
    if yaml_rs is None:
        return None
    if not text.endswith("\n"):
        text += "\n"
    if _SIMPLE.fullmatch(text) is None or _QUOTED_DATE.search(text) is not None:
        return None
    if not within(text, max_depth, max_nodes):
        return None
    try:
        data = yaml_rs.loads(text)
    except Exception:  # noqa: BLE001 - PyYAML will name the error
        return None
    for stamp in _KEY_STAMP.findall(text):
        # yaml_rs leaves a date-time that does not exist (a 31st of February, second
        # 60) as text; what that means is the article loader's call, so it decides.
        if not _stamp_exists(stamp):
            return None
    return data
