"""Small Kafka helpers shared by the relay, the consumer and the admin commands."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from shared.config import Config


def _servers(config: Config) -> list[str]:
    return config.kafka_bootstrap_servers.split(",")


def ensure_topic(config: Config, topic: str) -> None:
    """Create the topic (unlimited retention) unless it exists."""
    admin = KafkaAdminClient(
        bootstrap_servers=_servers(config),
        client_id=f"{config.service}-admin",
        request_timeout_ms=10_000,
    )
    try:
        if topic in admin.list_topics():
            return
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(
                [
                    NewTopic(
                        topic,
                        num_partitions=config.topic_partitions,
                        replication_factor=1,
                        topic_configs={"retention.ms": "-1"},
                    )
                ]
            )
    finally:
        admin.close()


@contextlib.contextmanager
def offsets_client(config: Config) -> Iterator[KafkaConsumer]:
    """A consumer with no group, for reading offsets and whole topics."""
    consumer = KafkaConsumer(
        bootstrap_servers=_servers(config),
        enable_auto_commit=False,
        client_id=f"{config.service}-reader",
        request_timeout_ms=11_000,
    )
    try:
        yield consumer
    finally:
        consumer.close()


def partitions_of(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    ids = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(ids)]


def topic_is_empty(config: Config, topic: str) -> bool:
    """True when no partition of the topic holds a message (or the topic does not exist).

    Only emptiness is asked of the end offsets: Tansu 0.6 reports the base offset of a
    partition's last record batch + 1 as its end offset, which undercounts (docs/adr/0004).
    """
    with offsets_client(config) as consumer:
        partitions = partitions_of(consumer, topic)
        if not partitions:
            return True
        return all(offset == 0 for offset in consumer.end_offsets(partitions).values())
