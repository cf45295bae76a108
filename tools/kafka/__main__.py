"""`python3 -m tools.kafka up|down|status|fetch|topics|cli`: the Makefile's broker commands.

`up` starts a broker in the background with its state in `.kafka/run/` (127.0.0.1:9092 by
default) and returns once it serves metadata; `down` stops exactly the PID `up` recorded.
`up --nodes 3` starts a 3-node cluster instead (tools/kafka/cluster.py): client ports
9092, 9094, 9096 and controller ports 9093, 9095, 9097; `down` and `status` find it by the
`cluster.json` it leaves in the run directory.
`cli TOOL ARGS...` runs one of Kafka's own CLI tools (`consumer-groups`, `topics`, ...)
against it (tools/kafka/cli.py). Errors print one line (plus the broker log tail when there
is one) and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from tools.kafka.cli import TOOLS, run_tool
from tools.kafka.cluster import CLUSTER_FILE, LocalCluster
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
        cmd.add_argument("--controller-port", type=int, default=None,
                         help="default: --port + 1")
        cmd.add_argument("--nodes", type=int, default=1, help="1: one broker; N: an N-node cluster")
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
    if getattr(args, "controller_port", 0) is None:
        args.controller_port = args.port + 1
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
    if args.nodes > 1 or (args.command != "up" and (args.run_dir / CLUSTER_FILE).exists()):
        return _run_cluster(args)
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


def _run_cluster(args: argparse.Namespace) -> int:
    saved = (args.run_dir / CLUSTER_FILE).exists()
    nodes = args.nodes
    if saved:  # ports and size as `up` chose them
        nodes = len(json.loads((args.run_dir / CLUSTER_FILE).read_text())["ports"])
    cluster = LocalCluster(
        args.run_dir,
        nodes=nodes,
        ports=None if saved else [args.port + 2 * i for i in range(nodes)],
        controller_ports=None if saved else [args.controller_port + 2 * i for i in range(nodes)],
    )
    pids = cluster.pids
    if args.command == "status":
        print(f"running: {len(pids)} of {nodes} nodes {pids} on {cluster.bootstrap}"
              if pids else "not running")
        return 0 if len(pids) == nodes else 3
    if args.command == "down":
        cluster.stop()
        (args.run_dir / CLUSTER_FILE).unlink(missing_ok=True)  # a later plain `up` is one broker
        print(f"stopped the Kafka cluster (pids {sorted(pids.values())})"
              if pids else f"no cluster running from {args.run_dir}")
        return 0
    if len(pids) == nodes:
        print(f"already running: {nodes} nodes on {cluster.bootstrap}")
        return 0
    cluster.start()
    print(f"Kafka {cluster.version} cluster up: {nodes} nodes on {cluster.bootstrap} "
          f"(pids {sorted(cluster.pids.values())}, logs {args.run_dir}/node-*/kafka.log)")
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
