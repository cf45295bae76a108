"""The streaming runtime: the Faust app, its agents and everything that talks to Kafka for them.

    app        topics, table and Faust settings, declarations only
    agents     the agents: the only code that awaits, sends or writes tables
    consumer   Faust's consumer made strict about input offsets (fenced Faust internals)
    positions  pure bookkeeping of the next offset per input partition
    executor   the CPU-bound pipeline off the event loop, with a per-page time limit
    topics     creating the worker's topics before Faust subscribes
    web        /metrics, /healthz, /readyz
    metrics    the Prometheus metrics
    wire       records on the worker's own topics
    blocking   a blocking detector that reports and never raises

`worker/pipeline/` is the pure core it runs; `worker/commands/` are the CLI entry points.
"""
