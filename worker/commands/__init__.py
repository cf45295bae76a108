"""One module per `news-worker` subcommand: each has `register(subparsers)` and `run(args)`."""
