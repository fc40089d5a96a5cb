"""gunicorn settings for feedsvc, used by ``feedsvc serve``, the Procfile and the Dockerfile.

Run as ``gunicorn -c python:feedsvc.gunicorn_conf feedsvc.wsgi:app``. Every value can
be overridden from the environment (names below) or on gunicorn's command line.
"""

import multiprocessing
import os

_cpus = multiprocessing.cpu_count()

bind = (
    os.environ.get("GUNICORN_BIND")
    or f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
)
# Feeds are served from memory, so a worker per core, and a few threads each to
# overlap slow clients, use the machine without oversubscribing it.
workers = int(os.environ.get("WEB_CONCURRENCY", _cpus))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread"
# Load the store once in the master; forked workers share its memory.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# Request lines and headers beyond these are refused before any app code runs.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


def pre_fork(server, worker):
    """Move the loaded store out of the cycle collector's sight before forking.

    Its objects never form cycles, and a full collection in a worker would walk every
    one of them, costing pauses and un-sharing the pages the workers inherited.
    """
    import gc

    gc.freeze()
