"""WSGI entry point: ``gunicorn feedsvc.wsgi:app``."""

from feedsvc import create_app

app = create_app()
