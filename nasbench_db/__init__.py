"""nasbench_db: NAS-Bench-101, NAS-Bench-201 / NATS-Bench and NDS results as SQL tables with NNI's query API."""

__version__ = "0.1.0"
