"""Creating the pipeline's topics before any worker starts.

Faust does not see a source topic that appears after it joined its group, and every
topic must have the same number of partitions so that one application's events meet
in the same partition number everywhere (co-partitioning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError, for_code

from pipeline.errors import DependencyUnavailable
from pipeline.kafkaclient import client_options
from pipeline.settings import Settings


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int,
                        compacted: Iterable[str] = (), retained: Iterable[str] = (),
                        settings: Settings | None = None,
                        configs: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    """Create the missing topics; returns the names created. Existing ones are left alone.
    ``configs`` adds topic settings by topic name (a table's own changelog settings).

    ``compacted`` topics keep the latest record per key; ``retained`` ones keep every record
    for ever (``retention.ms=-1``, a history that must stay replayable). Replication factor
    and ``min.insync.replicas`` are ``ECO_KAFKA_REPLICATION_FACTOR`` and
    ``ECO_KAFKA_MIN_INSYNC_REPLICAS`` (1 and 1 on one local broker; 3 and 2 in production).
    """
    settings = Settings.from_env() if settings is None else settings
    compact = set(compacted)
    keep = set(retained)
    wanted = list(dict.fromkeys([*names, *compact]))
    admin = AIOKafkaAdminClient(**client_options(bootstrap, settings), request_timeout_ms=15000)
    try:
        await admin.start()
    except (KafkaConnectionError, TimeoutError, OSError) as exc:
        await admin.close()
        raise DependencyUnavailable(f"Kafka broker at {bootstrap} does not answer: {exc}") from exc
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in wanted if n not in existing]
        if missing:
            new = [
                NewTopic(n, num_partitions=partitions,
                         replication_factor=settings.kafka_replication_factor,
                         topic_configs={**_configs(n, compact, keep), "min.insync.replicas":
                                        str(settings.kafka_min_insync_replicas),
                                        **(configs or {}).get(n, {})})
                for n in missing
            ]
            response = await admin.create_topics(new)
            for topic, code, *message in response.topic_errors:
                error = for_code(code)
                if code != 0 and error is not TopicAlreadyExistsError:
                    raise DependencyUnavailable(
                        f"cannot create topic {topic}: {message[0] if message else error}")
        return missing
    except (KafkaError, TimeoutError, OSError) as exc:
        raise DependencyUnavailable(f"cannot create topics on {bootstrap}: {exc}") from exc
    finally:
        await admin.close()


def _configs(name: str, compact: set[str], keep: set[str]) -> dict[str, str]:
    if name in compact:
        return {"cleanup.policy": "compact"}
    if name in keep:
        return {"retention.ms": "-1", "retention.bytes": "-1"}
    return {}
