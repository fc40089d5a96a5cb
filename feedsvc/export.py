"""Static export: every public path, fetched from the app itself, written as the URL lays it out.

Going through the app's own request handling (not calling the renderers directly)
is what makes the export equal to what the server sends for the same URL, for the
feeds and for whatever else registers its paths in :mod:`feedsvc.render.paths`. A path
ending in ``/`` is written as ``index.html``, the name static hosts serve for a
folder. Each file gets a gzip twin, so a host that serves precompressed files
(nginx ``gzip_static``, most CDNs and object stores with Content-Encoding set)
sends it without compressing on every request.
"""

from __future__ import annotations

import gzip
import logging
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import Flask

from .render.paths import all_paths


class ExportError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Exported:
    path: str  # the URL path
    file: Path
    size: int


def check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash, or ExportError if it is not absolute."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ExportError(
            f"the base URL must be absolute, like https://feeds.example.com: {base_url!r}"
        )
    if parts.query or parts.fragment:
        raise ExportError(f"the base URL must not have a query or fragment: {base_url!r}")
    return base_url.rstrip("/")


def file_for(out_dir: Path, path: str) -> Path:
    """Where the body of ``path`` goes below ``out_dir``; refuses paths that would leave it."""
    if not path.startswith("/"):
        raise ExportError(f"not an absolute path: {path!r}")
    segments = path[1:].split("/")
    if segments[-1] == "":
        segments[-1] = "index.html"
    if any(s in ("", ".", "..") or "\\" in s or "?" in s for s in segments):
        raise ExportError(f"not a clean absolute path: {path!r}")
    return out_dir.joinpath(*segments)


def paths(app: Flask) -> list[str]:
    """Every public path once, in a stable order."""
    snapshot = app.extensions["feedsvc.store"].snapshot
    return sorted(set(all_paths(app, snapshot)))


def export(
    app: Flask,
    out_dir: Path,
    todo: Iterable[str],
    on_file: Callable[[Exported], None] | None = None,
) -> list[Exported]:
    """Fetch each path from ``app`` and write it, with a ``.gz`` twin, below ``out_dir``."""
    client = app.test_client()
    done = []
    for path in todo:
        target = file_for(out_dir, path)
        # No Accept-Encoding: the identity body, which the .gz twin then compresses.
        response = client.get(path)
        if response.status_code != 200:
            raise ExportError(f"{path} answered {response.status_code}, not 200")
        body = response.get_data()
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, body)
        # mtime=0: the same bytes on every export, so syncing to a bucket uploads only changes.
        _write(target.with_name(target.name + ".gz"), gzip.compress(body, 9, mtime=0))
        item = Exported(path, target, len(body))
        done.append(item)
        if on_file is not None:
            on_file(item)
    return done


def _write(target: Path, data: bytes) -> None:
    # Write beside and rename, so a host serving the folder never sends half a file.
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--content", type=click.Path(file_okay=False), help="Store folder (FEEDSVC_CONTENT_DIR)."
)
@click.option(
    "--base-url",
    envvar="FEEDSVC_BASE_URL",
    required=True,
    help="Absolute URL the export will be served from, e.g. https://feeds.example.com "
    "(FEEDSVC_BASE_URL). Feeds link to themselves and their articles with it.",
)
def build(out_dir: Path, content: str | None, base_url: str) -> None:
    """Export every feed and page to OUT_DIR as static files laid out as the URLs.

    Each file has a precompressed .gz twin. Shows a progress bar on a terminal and
    is quiet otherwise.
    """
    from . import create_app
    from .web import logs

    try:
        base_url = check_base_url(base_url)
    except ExportError as exc:
        raise click.BadParameter(str(exc), param_hint="--base-url") from exc
    if not logging.getLogger().handlers:  # a caller's own logging set-up stays
        logs.configure("WARNING")  # skipped articles are still reported
    config = {"BASE_URL": base_url, "RELOAD_INTERVAL": 0, "BACKGROUND_LOAD": False}
    config["REQUEST_LOG"] = False
    if content is not None:
        config["CONTENT_DIR"] = content
    app = create_app(config)
    todo = paths(app)
    try:
        if sys.stderr.isatty():
            with click.progressbar(
                length=len(todo), label="Exporting", file=sys.stderr, show_pos=True
            ) as bar:
                done = export(app, out_dir, todo, on_file=lambda _: bar.update(1))
            total = sum(item.size for item in done)
            click.echo(f"{len(done)} files, {total:,} bytes, in {out_dir}", err=True)
        else:
            export(app, out_dir, todo)
    except (ExportError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
