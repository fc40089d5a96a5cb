"""gunicorn settings for feedsvc, used by ``feedsvc serve``, the Procfile and the Dockerfile.

Run as ``gunicorn -c python:feedsvc.gunicorn_conf feedsvc.wsgi:app``. Every value can
be overridden from the environment (names below) or on gunicorn's command line.

Signals are gunicorn's: HUP starts new workers and retires the old ones gracefully
(finishing their requests), TERM stops gracefully within ``graceful_timeout``,
TTIN/TTOU add or remove a worker. The store needs no signal: it reloads itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from gunicorn.glogging import Logger

from feedsvc.config import from_environ
from feedsvc.web.logs import logging_config

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.workers.base import Worker

_cpus = multiprocessing.cpu_count()

bind = (
    os.environ.get("GUNICORN_BIND")
    or f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
)
# Feeds are served from memory, so a worker per core uses the machine without
# oversubscribing it. Each worker serves its connections as greenlets (feedsvc/worker.py),
# so slow and idle clients cost memory, not threads; each request's head must arrive
# within `keepalive` seconds. GUNICORN_WORKER_CLASS=gthread brings back a thread per
# connection (GUNICORN_THREADS of them), for a deployment behind a buffering proxy.
workers = int(os.environ.get("WEB_CONCURRENCY", _cpus))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "feedsvc.worker.Worker")
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", 1000))
# Load the store once in the master; forked workers share its memory.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# Request lines and headers beyond these are refused before any app code runs.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# The worker heartbeat goes to memory, not to a container's overlay disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# feedsvc writes one JSON line per request itself (with request id, route and cache
# outcome), so gunicorn's access log is off unless asked for; its lines are JSON too.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
logconfig_dict = logging_config(
    from_environ("LOG_LEVEL"),
    access_log=accesslog is not None,
    flush=from_environ("LOG_FLUSH"),
)


class QuietAccessLogger(Logger):
    """gunicorn's logger, building an access line only when its logger would write it.

    With a logging config, gunicorn formats every request's access atoms even when
    the access logger drops them.
    """

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        if self.access_log.isEnabledFor(logging.INFO):
            super().access(resp, req, environ, request_time)


logger_class = QuietAccessLogger
# gunicorn's control socket lives in $HOME, shared by every server of a user and often
# not writable in a container; the signals above do the same job.
control_socket_disable = True

# Metrics from every worker are added up through files in one folder per server. It
# must be in the environment before prometheus-client is imported, that is before the
# app is loaded, which is why it is set here and not in the app.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="feedsvc-metrics-")
else:
    # Counts left by an earlier server in a folder given from outside would add up with
    # this one's: start from zero. (Here, not in on_starting: preload_app loads the app,
    # which writes its first values, before on_starting runs.)
    _folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(_folder, exist_ok=True)
    for _name in os.listdir(_folder):
        if _name.endswith(".db"):
            os.remove(os.path.join(_folder, _name))


def post_worker_init(worker: Worker) -> None:
    from feedsvc import websub
    from feedsvc.web.health import start_loading

    start_loading(worker.wsgi)
    # Every worker keeps its own store fresh (and says how), not only those that have
    # had a request yet.
    reloader = getattr(worker.wsgi, "extensions", {}).get("feedsvc.reloader")
    if reloader is not None:
        reloader.ensure_running()
    websub.start(worker.wsgi)  # every worker stands for WebSub leader; one wins


def child_exit(server: Arbiter, worker: Worker) -> None:
    # The dead worker's counters stay in the sums; its live gauges are dropped.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Arbiter) -> None:
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def pre_fork(server: Arbiter, worker: Worker) -> None:
    """Move the loaded store out of the cycle collector's sight before forking.

    Its objects never form cycles, and a full collection in a worker would walk every
    one of them, costing pauses and un-sharing the pages the workers inherited.
    """
    import gc

    gc.freeze()
