#!/usr/bin/env bash
# make demo: a private Kafka broker, the worker, examples/pages.jsonl replayed, the article
# events printed, everything stopped again (also on Ctrl-C and errors). The work is done by
# tools/demo.py, which cleans up in `finally` blocks; this wrapper only picks the Python.
#   PYTHON      interpreter with news-worker installed (default .venv/bin/python)
#   KAFKA_PORT  broker port when free (default 9092; a free port otherwise)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
export KAFKA_PORT="${KAFKA_PORT:-9092}"

if ! "$PYTHON" -c 'import worker, aiokafka' 2>/dev/null; then
    echo "demo: $PYTHON cannot import news-worker; run \`make setup\` first" >&2
    exit 1
fi
exec "$PYTHON" -m tools.demo "$@"
