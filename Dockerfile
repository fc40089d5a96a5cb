# syntax=docker/dockerfile:1
# feedsvc: install the locked dependencies and feedsvc into a virtualenv in one stage,
# copy that virtualenv into a clean slim image in the next, so no build tools, cache
# or source tree end up in what runs.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
RUN python -m venv /opt/feedsvc
WORKDIR /src
# The runtime lock alone, with hashes: exactly the versions CI tested, and this layer
# stays cached until the lock changes.
COPY requirements/runtime.txt requirements/runtime.txt
RUN /opt/feedsvc/bin/pip install --no-cache-dir --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY feedsvc ./feedsvc
# Built by the lock's setuptools; its dependencies are already there.
RUN /opt/feedsvc/bin/pip install --no-cache-dir --no-deps --no-build-isolation .

FROM ${PYTHON_IMAGE}
# Set FEEDSVC_BASE_URL (or FEEDSVC_ALLOWED_HOSTS) when running it: without either,
# only requests for the loopback host names are answered (see docs/deploy.md).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/feedsvc/bin:$PATH \
    PORT=8000 \
    FEEDSVC_CONTENT_DIR=/srv/feedsvc/content
COPY --from=build /opt/feedsvc /opt/feedsvc
RUN groupadd --gid 10001 feedsvc \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin feedsvc \
    && mkdir -p /srv/feedsvc/content
# The store: mount a volume here (read-only is enough), or bake it into an image
# built FROM this one at another path named by FEEDSVC_CONTENT_DIR.
VOLUME ["/srv/feedsvc/content"]
# Numeric, so an orchestrator can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
WORKDIR /srv/feedsvc
EXPOSE 8000
# No curl in a slim image: Python asks /healthz, on whatever PORT the service listens.
HEALTHCHECK --interval=15s --timeout=4s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=3)"]
# gunicorn with feedsvc's settings (feedsvc/gunicorn_conf.py): workers from the CPUs
# (WEB_CONCURRENCY overrides), each serving connections as greenlets so slow clients
# cannot hold it, bound to 0.0.0.0:$PORT.
CMD ["gunicorn", "-c", "python:feedsvc.gunicorn_conf", "feedsvc.wsgi:app"]
