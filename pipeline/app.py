"""The Faust application: at-least-once processing, agents at concurrency 1, scaling by
partitions and processes (more workers with the same ``ECO_APP_ID`` share the partitions)."""

from __future__ import annotations

import faust

from pipeline import faustfix
from pipeline.kafkaclient import faust_options
from pipeline.settings import Settings


def create_app(settings: Settings) -> faust.App:
    """A Faust app configured for eco-pipeline; stages are installed on it by ``agents``."""
    faustfix.apply()
    datadir = settings.data_dir / "worker" / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.app_id,
        broker=settings.kafka_url,
        store="memory://",
        datadir=str(datadir),
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        topic_allow_declare=True,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=100,
        broker_commit_interval=1.0,
        stream_wait_empty=True,
        web_enabled=True,
        web_port=settings.worker_web_port,
        web_host=settings.worker_web_host,
        producer_acks=-1,
        autodiscover=False,
        **faust_options(settings),  # TLS and SASL (pipeline/kafkaclient.py)
    )
