"""How every Kafka client of the project connects: one place turns the ``ECO_KAFKA_*``
settings into aiokafka's options (TLS, SASL SCRAM-SHA-512, mutual TLS) and Faust's
credentials, so the worker, the CLI, the feeds, the topic creator and the benchmarks all
speak to a secured cluster the same way.

The settings follow the client's names: ``ECO_KAFKA_SECURITY_PROTOCOL`` (PLAINTEXT, SSL,
SASL_PLAINTEXT, SASL_SSL), ``ECO_KAFKA_SASL_MECHANISM``, ``ECO_KAFKA_SASL_USERNAME``,
``ECO_KAFKA_SASL_PASSWORD``, ``ECO_KAFKA_SSL_CAFILE``, ``ECO_KAFKA_SSL_CERTFILE``,
``ECO_KAFKA_SSL_KEYFILE``.
"""

from __future__ import annotations

import ssl
from typing import Any

from pipeline.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for the brokers: their CA bundle (else the system store), the client
    certificate for mutual TLS when configured; None without TLS."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.kafka_ssl_certfile is not None:
        keyfile = str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None
        context.load_cert_chain(str(settings.kafka_ssl_certfile), keyfile)
    return context


def security_options(settings: Settings) -> dict[str, Any]:
    """aiokafka's security keyword arguments (``AIOKafkaProducer(**...)`` and the others)."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL"):
        options.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                       sasl_plain_username=settings.kafka_sasl_username,
                       sasl_plain_password=settings.kafka_sasl_password)
    return options


def client_options(bootstrap: str, settings: Settings | None = None) -> dict[str, Any]:
    """``bootstrap_servers`` and the security options of ``settings`` (by default the
    process's own, from the environment): what every aiokafka client of the project gets."""
    settings = Settings.from_env() if settings is None else settings
    return {"bootstrap_servers": bootstrap, **security_options(settings)}


def faust_options(settings: Settings) -> dict[str, Any]:
    """``faust.App`` keyword arguments for the same connection."""
    import faust

    protocol = settings.kafka_security_protocol
    context = ssl_context(settings)
    credentials: Any = None
    if protocol.startswith("SASL"):
        credentials = faust.SASLCredentials(
            username=settings.kafka_sasl_username, password=settings.kafka_sasl_password,
            ssl_context=context, mechanism=settings.kafka_sasl_mechanism)
    elif context is not None:
        credentials = faust.SSLCredentials(context)
    return {"broker_credentials": credentials} if credentials is not None else {}


def unreachable(bootstrap: str, settings: Settings | None = None) -> str:
    """What to say when the brokers cannot be reached: with SASL or TLS, a refused login or
    certificate looks the same to the client, so name what this process presented."""
    settings = Settings.from_env() if settings is None else settings
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return f"Kafka broker at {bootstrap} does not answer"
    who = (f" as {settings.kafka_sasl_username!r} ({settings.kafka_sasl_mechanism})"
           if protocol.startswith("SASL") else "")
    return (f"Kafka broker at {bootstrap} does not answer or refused this client over "
            f"{protocol}{who}: check ECO_KAFKA_SASL_USERNAME, ECO_KAFKA_SASL_PASSWORD and "
            "ECO_KAFKA_SSL_CAFILE")
