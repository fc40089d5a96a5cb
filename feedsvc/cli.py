"""The ``feedsvc`` command: ``serve`` the store under gunicorn, ``check`` it for bad files."""

from __future__ import annotations

import json
import logging
import os
import sys

import click

from . import config
from .content.model import printable
from .content.store import Store


@click.group()
@click.version_option(package_name="feedsvc")
def main() -> None:
    """Serve RSS, Atom and JSON Feed for a folder of news articles."""


@main.command()
@click.option(
    "--content", type=click.Path(file_okay=False), help="Store folder (FEEDSVC_CONTENT_DIR)."
)
@click.option("--host", default=None, help="Address to bind (HOST, default 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port to bind (PORT, default 8000).")
@click.option(
    "--workers", type=int, default=None, help="gunicorn workers (WEB_CONCURRENCY, default: CPUs)."
)
def serve(content: str | None, host: str | None, port: int | None, workers: int | None) -> None:
    """Run the service under gunicorn with feedsvc's gunicorn settings."""
    env = dict(os.environ)
    for name, value in (
        ("FEEDSVC_CONTENT_DIR", content),
        ("HOST", host),
        ("PORT", port),
        ("WEB_CONCURRENCY", workers),
    ):
        if value is not None:
            env[name] = str(value)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:feedsvc.gunicorn_conf",
        "feedsvc.wsgi:app",
    ]
    os.execve(sys.executable, argv, env)


@main.command()
@click.argument("folder", required=False, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of text.")
@click.option(
    "--max-file-bytes",
    type=int,
    default=config.default("MAX_FILE_BYTES"),
    show_default=True,
    envvar="FEEDSVC_MAX_FILE_BYTES",
    help="Same limit as the service (FEEDSVC_MAX_FILE_BYTES).",
)
def check(folder: str | None, as_json: bool, max_file_bytes: int) -> None:
    """List every file that would be skipped, with the reason; exit 1 if any.

    Files that are served with something dropped (a bad image URL, say) are listed
    as warnings and do not change the exit status.
    """
    folder = folder or os.environ.get("FEEDSVC_CONTENT_DIR", str(config.default("CONTENT_DIR")))
    if not os.path.isdir(folder):
        raise click.UsageError(f"{folder} is not a folder")
    logging.getLogger("feedsvc").setLevel(logging.ERROR)  # the report below says it all
    snapshot = Store(folder, max_file_bytes=max_file_bytes).refresh()
    skipped = snapshot.skipped
    if as_json:
        report = {
            "folder": folder,
            "files": snapshot.files,
            "articles": len(snapshot.articles),
            "problems": [
                {"path": p.source, "reason": p.reason, "skipped": p.skipped}
                for p in snapshot.problems
            ],
        }
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for problem in snapshot.problems:
            label = "skipped" if problem.skipped else "warning"
            click.echo(f"{printable(problem.source)}: {label}: {problem.reason}")
        click.echo(
            f"{snapshot.files} files, {len(snapshot.articles)} articles served, "
            f"{len(skipped)} skipped",
            err=True,
        )
    sys.exit(1 if skipped else 0)


def _add_build() -> None:
    from .export import build

    main.add_command(build)


_add_build()


if __name__ == "__main__":
    main()
