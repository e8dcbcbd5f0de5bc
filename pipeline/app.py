"""The Faust application: at-least-once processing, agents at concurrency 1, scaling by
partitions and processes (more workers with the same ``ECO_APP_ID`` share the partitions).

Each worker is a static member of its consumer group (``ECO_WORKER_INSTANCE_ID``): a
restarted worker, killed or stopped, takes its partitions back at once instead of waiting
for its session to time out. Its tables live in RocksDB (``ECO_STORE``) under
``ECO_DATA_DIR/worker/<app id>/<instance id>``, off the heap, all under one memory budget
(``pipeline.rocksmemory``); RocksDB keeps the changelog offsets it has applied, so a restart
reads only what is new.
"""

from __future__ import annotations

from typing import Any

import faust

from pipeline import faustfix
from pipeline.kafkaclient import faust_options
from pipeline.rocksmemory import share_memory
from pipeline.settings import Settings

MIB = 1024 * 1024
IN_MEMORY = "memory://local"
"""The store of a table kept in the worker's memory (rebuilt from its changelog on start).
Faust takes the app's store (``ECO_STORE``) for a table whose store URL is empty, and a URL
of a scheme alone (``memory://``) is empty, so this one names a host."""
PRODUCER_BATCH_BYTES = 256 * 1024  # per partition: a batch of signed certificates in one request
SESSION_TIMEOUT = 30.0  # seconds until a member that vanished for good loses its partitions


def create_app(settings: Settings) -> faust.App:
    """A Faust app configured for eco-pipeline; stages are installed on it by ``agents``."""
    faustfix.apply()
    if settings.store.startswith("rocksdb"):
        share_memory(settings.rocksdb_cache_mb)  # one budget for every table's RocksDB
    datadir = worker_dir(settings)
    datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.app_id,
        broker=settings.kafka_url,
        store=settings.store,
        datadir=str(datadir),
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        topic_allow_declare=True,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=settings.group_instance_id(),
        broker_session_timeout=SESSION_TIMEOUT,
        broker_heartbeat_interval=3.0,
        broker_commit_every=100,
        broker_commit_interval=1.0,
        stream_wait_empty=True,
        web_enabled=True,
        web_port=settings.worker_web_port,
        web_host=settings.worker_web_host,
        producer_acks=-1,
        producer_linger=settings.kafka_linger_ms / 1000,
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        autodiscover=False,
        **faust_options(settings),  # TLS and SASL (pipeline/kafkaclient.py)
    )


def worker_dir(settings: Settings) -> Any:
    """Where this worker keeps its tables: one directory per worker, as RocksDB locks it."""
    return settings.data_dir / "worker" / settings.app_id / settings.group_instance_id()


def table_options(settings: Settings) -> dict[str, Any]:
    """RocksDB options of each table partition: small memtables; the block cache is the one
    of the whole worker (``pipeline.rocksmemory``)."""
    return {"write_buffer_size": 2 * MIB, "max_write_buffer_number": 2}
