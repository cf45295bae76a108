# news-worker: one worker process per container. Build: docker build -t news-worker .
# Configured by NEWS_* environment variables (README, configuration); state in /var/lib/news-worker.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (README.md is the package's readme), so code edits reuse this layer.
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY worker ./worker
# requirements/runtime.txt: the runtime dependencies, pip and the build backend, each file
# checked against its sha256 (make lock); the package is built with what it installed.
RUN pip install --require-hashes --no-deps -r requirements/runtime.txt \
    && pip install --no-deps --no-build-isolation . && pip check

# Schemas for consumers; the example pages for `news-worker replay` (compose profile demo).
COPY schemas ./schemas
COPY examples ./examples

RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin news \
    && mkdir -p /var/lib/news-worker \
    && chown news:news /var/lib/news-worker

USER news

# In a container: listen on every interface (the default 127.0.0.1 would not be reachable
# through a published port), keep the dedupe table store on the volume, log JSON.
ENV NEWS_WEB_HOST=0.0.0.0 \
    NEWS_WEB_PORT=6066 \
    NEWS_DATA_DIR=/var/lib/news-worker \
    NEWS_LOG_FORMAT=json

VOLUME ["/var/lib/news-worker"]
EXPOSE 6066

# /healthz answers while the process and its event loop are alive (slim has no curl).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:6066/healthz', timeout=4)"]

# exec form: news-worker is PID 1 and gets SIGTERM from `docker stop` (clean shutdown).
CMD ["news-worker", "worker"]
