"""Reading one article file: the fields kept, the forms accepted, the files refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import SAMPLE, SECRET, article, front_matter

from feedsvc.content import clean
from feedsvc.content.articles import is_article_name, read_article
from feedsvc.content.model import Article, Problem


def parse(data: dict | str | bytes):
    if isinstance(data, dict):
        data = front_matter(data)
    if isinstance(data, str):
        data = data.encode("utf-8")
    return read_article(data, "x.txt")


def test_sample_files_parse_into_the_model():
    result = read_article((SAMPLE / "000_c968be02d8546650.txt").read_bytes(), "000.txt")
    assert isinstance(result, Article)
    assert result.title == "Server screw-up exposes Clearview’s facial recognition AI software"
    assert result.published == datetime(2020, 4, 17, 9, 31, tzinfo=UTC)
    assert result.provider.name == "Engadget" and result.provider.domain == "engadget.com"
    assert result.provider.logo.width == 50
    assert result.topics == ("AI", "Computer Vision")
    assert [i.width for i in result.images] == [600]
    assert [r.provider for r in result.related] == ["The Verge", "SC Media"]
    assert result.quality == 104 and result.heat == 124 and result.visible


def test_secured_is_never_in_the_model():
    result = parse(article())
    assert not hasattr(result, "secured")
    assert SECRET not in repr(result)
    assert "secured" not in Article.__slots__


@pytest.mark.parametrize(
    "secured_block",
    [
        'secured: "abc;def=="\n',
        "secured: 'abc'\n",
        "secured: abc+/=\n",
        "secured: |\n  abc\n  def\n",
        'secured: "line one\n  line two"\n',
        "secured: &anchor abc\n",
        "secured:\n  nested: value\n",
    ],
)
def test_secured_in_any_yaml_form_is_dropped_and_the_rest_kept(secured_block):
    text = f"---\ntitle: T\n{secured_block}webUrl: https://a.example/1\npublishedDateTime: 2024-01-01\n---\n"
    result = parse(text)
    assert isinstance(result, Article), result
    assert result.title == "T" and result.url == "https://a.example/1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-04-17T09:31:00Z", datetime(2020, 4, 17, 9, 31, tzinfo=UTC)),
        ("2020-04-17T11:31:00+02:00", datetime(2020, 4, 17, 9, 31, tzinfo=UTC)),
        ("2020-04-17T09:31:00.1234567Z", datetime(2020, 4, 17, 9, 31, 0, 123456, tzinfo=UTC)),
        ("2020-04-17T09:31:00", datetime(2020, 4, 17, 9, 31, tzinfo=UTC)),
        ("2020-04-17", datetime(2020, 4, 17, tzinfo=UTC)),
        (datetime(2020, 4, 17, 9, 31), datetime(2020, 4, 17, 9, 31, tzinfo=UTC)),
        (
            datetime(2020, 4, 17, 9, 31, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2020, 4, 17, 14, 31, tzinfo=UTC),
        ),
    ],
)
def test_dates_in_every_accepted_form(value, expected):
    assert clean.timestamp(value) == expected
    assert parse(article(publishedDateTime=value)).published == expected


def test_unquoted_yaml_timestamps_with_seven_digits():
    text = "---\ntitle: T\nwebUrl: https://a.example/1\npublishedDateTime: 2020-04-17T09:31:00.1234567Z\n---\n"
    assert parse(text).published == datetime(2020, 4, 17, 9, 31, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "value", ["yesterday", "2020-13-45", "", 12345, "0001-01-01T00:00:00Z", "9999-12-31", None]
)
def test_unreadable_or_absurd_dates_skip_the_file(value):
    result = parse(article(publishedDateTime=value))
    assert isinstance(result, Problem)
    assert "publishedDateTime" in result.reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": None}, "title"),
        ({"title": "   "}, "title"),
        ({"webUrl": None}, "webUrl"),
        ({"webUrl": "javascript:alert(1)"}, "webUrl"),
        ({"webUrl": "ftp://example.com/x"}, "webUrl"),
        ({"webUrl": "/relative/path"}, "webUrl"),
    ],
)
def test_required_fields(fields, reason):
    result = parse(article(**fields))
    assert isinstance(result, Problem)
    assert reason in result.reason


@pytest.mark.parametrize(
    ("value", "visible"),
    [(True, True), (False, False), ("false", False), ("no", False), ("yes", True)],
)
def test_published_flag(value, visible):
    assert parse(article(published=value)).visible is visible


def test_missing_published_means_published():
    assert parse(article(published=None)).visible is True


def test_unclear_published_hides_the_article_with_a_note():
    result = parse(article(published={"when": "later"}))
    assert isinstance(result, tuple)
    kept, note = result
    assert kept.visible is False and not note.skipped and "published" in note.reason


def test_bom_and_crlf():
    text = front_matter(article(title="Windows file")).replace("\n", "\r\n")
    result = read_article(b"\xef\xbb\xbf" + text.encode("utf-8"), "win.txt")
    assert isinstance(result, Article) and result.title == "Windows file"


def test_body_after_front_matter_is_ignored():
    result = parse(front_matter(article()) + "\n# A body\n\n---\nmore: text\n")
    assert isinstance(result, Article)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"title: no fences\n", "front matter"),
        (b"---\ntitle: never closed\n", "front matter"),
        (b"---\n---\n", "empty front matter"),
        (b"---\n- a\n- list\n---\n", "mapping"),
        (b"---\ntitle: [unclosed\n---\n", "invalid YAML at line"),
        (b"\xff\xfe\x00t\x00i", "binary"),
        (b"---\ntitle: caf\xe9\n---\n", "UTF-8"),
        (b"---\n!!python/object/apply:os.system ['echo hi']\n---\n", "invalid YAML"),
    ],
)
def test_unusable_files_are_problems_with_reasons(raw, reason):
    result = read_article(raw, "bad.txt")
    assert isinstance(result, Problem)
    assert result.source == "bad.txt" and result.skipped
    assert reason in result.reason


def test_yaml_errors_never_quote_the_file():
    raw = f'---\nsecured: "{SECRET}"\ntitle: [broken\n---\n'.encode()
    result = read_article(raw, "bad.txt")
    assert isinstance(result, Problem)
    assert SECRET not in result.reason and SECRET[:10] not in result.reason


def test_bad_optional_values_are_dropped_with_notes():
    result = parse(
        article(
            images=[
                {"url": "javascript:alert(1)"},
                {"url": "data:image/png;base64,AAAA"},
                "just text",
                {"url": "https://ok.example/i.png", "width": "640px", "height": {"no": 1}},
            ],
            topics="Single Topic",
            related=[{"title": "No link"}, {"title": "Bad", "webUrl": "javascript:x"}],
            provider={"name": {"nested": True}, "domain": "ex ample.com"},
        )
    )
    assert isinstance(result, tuple)
    kept, note = result
    assert [i.url for i in kept.images] == ["https://ok.example/i.png"]
    assert kept.images[0].width == 640 and kept.images[0].height is None
    assert kept.topics == ("Single Topic",)
    assert kept.related == ()
    assert kept.provider is None
    assert "images[0]" in note.reason and not note.skipped


@pytest.mark.parametrize(
    ("url", "mime"),
    [
        ("https://a.example/x.PNG", "image/png"),
        ("https://a.example/x.jpeg?w=1024", "image/jpeg"),
        ("https://a.example/x.webp", "image/webp"),
        ("https://a.example/x.gif#frag", "image/gif"),
        (
            "https://o.aolcdn.com/images/dims?thumbnail=600%2C350&image_uri=https%3A%2F%2Fs.yimg.com%2Fa%2Fb.png&client=x",
            "image/png",
        ),
        (
            "https://o.aolcdn.com/images/dims?image_uri=https%3A%2F%2Fs.yimg.com%2Fno-extension",
            "image/jpeg",
        ),
        ("https://a.example/image", "image/jpeg"),
    ],
)
def test_image_mime_type_from_the_path_or_a_nested_url(url, mime):
    assert clean.image_type(url) == mime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.example/x", "https://a.example/x"),
        ("  https://a.example/x  ", "https://a.example/x"),
        ("https://a.example/caf\u00e9?q=\u00fc", "https://a.example/caf%C3%A9?q=%C3%BC"),
        ("HTTP://A.example/", "http://A.example/"),
        ("HTTPS://a.example/x.png", "https://a.example/x.png"),
        ("javascript:alert(1)", None),
        ("data:text/html,x", None),
        ("https://", None),
        ("https://a.example/has space", None),
        ("https://a.example:99999/", None),
        (["https://a.example/"], None),
    ],
)
def test_urls(value, expected):
    assert clean.url(value) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.txt", True),
        ("b.md", True),
        ("C.TXT", True),
        (".hidden.txt", False),
        ("a.txt~", False),
        ("a.txt.swp", False),
        (".a.txt.swp", False),
        ("a.yaml", False),
        ("notes", False),
    ],
)
def test_article_file_names(name, expected):
    assert is_article_name(name) is expected
