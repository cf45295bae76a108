"""Local Apache Kafka for tests, the demo and benchmarks: see `localkafka.LocalKafka`."""
