"""The gunicorn worker feedsvc runs: one greenlet per connection, real threads for the store.

A thread per connection (gunicorn's ``gthread``) lets a few hundred slow or idle
clients hold every thread, so probes and feeds wait behind them. With gevent a
connection costs a greenlet (a few kilobytes), and gunicorn bounds the time to
read each request's head by ``keepalive`` seconds, so a client sending a header
line every few seconds is dropped too.

Only sockets are made cooperative (``monkey.patch_all`` would also turn threads,
``time.sleep``, ``select`` and locks into greenlet versions): the store's reloader,
its file watcher (a blocking ``read`` on inotify) and the background loader stay
real OS threads, so a long scan or load runs beside the requests, not instead of
them. Requests never wait on I/O while holding one of the app's locks (rendering
reads memory only), so real locks shared by greenlets of one thread cannot
deadlock them.
"""

from __future__ import annotations

from gunicorn.workers.ggevent import GeventWorker


class Worker(GeventWorker):
    def patch(self) -> None:
        from gevent import monkey, socket

        monkey.patch_all(
            socket=True,
            dns=True,
            ssl=True,
            time=False,
            select=False,
            thread=False,
            os=False,
            subprocess=False,
            Event=False,
            signal=False,
            queue=False,
            contextvars=False,
            builtins=False,
            aggressive=False,
        )
        # As GeventWorker.patch does after patching: the listening sockets as gevent's.
        self.sockets: list = [
            socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach())
            for s in self.sockets
        ]
