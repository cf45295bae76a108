"""`python3 -m tools.kafka up|down|status|fetch|topics|cli`: the Makefile's broker commands.

`up` starts a broker in the background with its state in `.kafka/run/` (127.0.0.1:9092 by
default) and returns once it serves metadata; `down` stops exactly the PID `up` recorded.
`cli TOOL ARGS...` runs one of Kafka's own CLI tools (`consumer-groups`, `topics`, ...)
against it (tools/kafka/cli.py). Errors print one line (plus the broker log tail when there
is one) and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tools.kafka.cli import TOOLS, run_tool
from tools.kafka.jars import KafkaSetupError, ensure_jars
from tools.kafka.localkafka import CACHE_DIR, LocalKafka, kafka_version

DEFAULT_RUN_DIR = CACHE_DIR / "run"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m tools.kafka", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("up", "start the broker in the background"),
        ("down", "stop the broker started by `up`"),
        ("status", "print whether the broker is running"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
        cmd.add_argument("--port", type=int, default=9092)
        cmd.add_argument("--controller-port", type=int, default=9093)
    sub.add_parser("fetch", help="resolve the Kafka jars through Maven (done by `up` too)")
    cli = sub.add_parser(
        "cli",
        help="run a Kafka CLI tool against the local broker: "
        + ", ".join(sorted(TOOLS))
        + " (arguments as for kafka-TOOL.sh; --bootstrap-server defaults to 127.0.0.1:$KAFKA_PORT)",
    )
    cli.add_argument("tool", choices=sorted(TOOLS), metavar="TOOL")
    cli.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    topics = sub.add_parser("topics", help="create topics NAME:PARTITIONS (needs aiokafka)")
    topics.add_argument("--bootstrap", default="127.0.0.1:9092")
    topics.add_argument("specs", nargs="+", metavar="NAME:PARTITIONS")
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.command == "fetch":
        print(ensure_jars(kafka_version(), CACHE_DIR))
        return 0
    if args.command == "cli":
        return run_tool(args.tool, args.args, version=kafka_version(), cache_dir=CACHE_DIR)
    if args.command == "topics":
        from tools.kafka.topics import create_topics

        wanted = {}
        for spec in args.specs:
            name, _, partitions = spec.partition(":")
            wanted[name] = int(partitions or 1)
        asyncio.run(create_topics(args.bootstrap, wanted))
        print("topics ready: " + ", ".join(f"{n} ({p})" for n, p in wanted.items()))
        return 0
    broker = LocalKafka(args.run_dir, port=args.port, controller_port=args.controller_port)
    if args.command == "status":
        pid = broker.pid
        print(f"running: pid {pid} on {broker.bootstrap}" if pid else "not running")
        return 0 if pid else 3
    if args.command == "down":
        pid = broker.pid
        if pid is None:
            print(f"no broker running from {args.run_dir}")
            return 0
        broker.stop()
        print(f"stopped Kafka (pid {pid})")
        return 0
    if broker.pid is not None:
        print(f"already running: pid {broker.pid} on {broker.bootstrap}")
        return 0
    broker.start()
    print(
        f"Kafka {broker.version} up on {broker.bootstrap} (pid {broker.pid}, log {broker.log_file})"
    )
    return 0


def main() -> int:
    """Run one broker command; expected failures print a clear message, never a traceback."""
    args = _parser().parse_args()
    try:
        return _run(args)
    except KafkaSetupError as exc:
        print(f"localkafka: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"localkafka {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
