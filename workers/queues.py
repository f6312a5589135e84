"""The worker process: which queues, in which order, on the connection from `service.queueing`."""

from __future__ import annotations

import gc
import importlib
import logging

from rq import SimpleWorker, Worker

from service.queueing import QUEUES, connection, queue


def make_worker(redis_url: str, names: tuple[str, ...] = QUEUES, forking: bool = True) -> Worker:
    """A worker on NAMES (highest priority first).  `forking=False` runs jobs in-process (simulation)."""
    worker_class = Worker if forking else SimpleWorker
    return worker_class([queue(redis_url, name) for name in names], connection=connection(redis_url))


def run_worker(redis_url: str, names: tuple[str, ...] = QUEUES, burst: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    importlib.import_module("workers.jobs")  # once: each job's work horse is forked with the job code imported
    try:
        make_worker(redis_url, names).work(burst=burst, with_scheduler=True)
    finally:
        gc.freeze()  # the process ends now: spare it the collector's pass over the whole heap at exit
