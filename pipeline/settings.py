"""Settings: one small frozen object built from ``ECO_*`` environment variables.

Every setting is documented here and listed in the README. The defaults make
``make demo`` work on a fresh machine.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path


def _duration(value: str, name: str) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``6h`` or ``2d``."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    text = value.strip().lower()
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not a duration (for example 30s, 15m, 6h)") from exc
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{name}={value!r} must be a finite, non-negative duration")
    return seconds


def _agreement_durations(value: str, name: str) -> dict[str, float]:
    """``RCEP=60d,ACFTA=90d`` -> {"RCEP": 5184000.0, "ACFTA": 7776000.0}."""
    result: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        agreement, sep, duration = part.partition("=")
        if not sep or not agreement.strip().isalpha():
            raise ValueError(f"{name}: {part!r} is not AGREEMENT=DURATION (for example RCEP=60d)")
        result[agreement.strip().upper()] = _duration(duration, name)
    return result


def _path(value: str) -> Path | None:
    return Path(value) if value.strip() else None


def _day(value: str, name: str) -> date | None:
    """A YYYY-MM-DD day, or None for an empty value."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not a day (YYYY-MM-DD)") from exc


def _country_durations(value: str, name: str) -> dict[str, float]:
    """``VN=6h,TH=4h`` -> {"VN": 21600.0, "TH": 14400.0}."""
    result: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        country, sep, duration = part.partition("=")
        if not sep or len(country.strip()) != 2:
            raise ValueError(f"{name}: {part!r} is not COUNTRY=DURATION (for example VN=6h)")
        result[country.strip().upper()] = _duration(duration, name)
    return result


@dataclass(frozen=True)
class Settings:
    """All settings of eco-pipeline, each from one ``ECO_*`` variable (README, "Settings").

    kafka_bootstrap       KAFKA_BOOTSTRAP       host:port of the Kafka broker
    kafka_partitions      KAFKA_PARTITIONS      partitions of each eco.* topic when created
    app_id                APP_ID                Faust app id (consumer group, table topics)
    data_dir              DATA_DIR              local state: broker, worker, keys, documents
    worker_web_port       WORKER_WEB_PORT       the worker's HTTP port (/metrics, callbacks)
    worker_web_host       WORKER_WEB_HOST       the address it binds
    log_level             LOG_LEVEL             debug, info, warning, error
    retry_attempts        RETRY_ATTEMPTS        tries of a retryable error before giving up
    retry_backoff         RETRY_BACKOFF         first back-off, doubled per try (duration)
    response_deadline     RESPONSE_DEADLINE     time a customs has to decide (all countries)
    response_deadlines    RESPONSE_DEADLINES    per country overrides: VN=6h,TH=6h
    deadline_check_every  DEADLINE_CHECK_EVERY  how often passed deadlines are looked for
    sandbox_url           SANDBOX_URL           base URL of the customs endpoint called
    sandbox_port          SANDBOX_PORT          port the sandbox customs listens on
    callback_url          CALLBACK_URL          where customs deliver responses (the worker)
    direct_countries      DIRECT_COUNTRIES      importing countries with a direct connection
    examination_date      EXAMINATION_DATE      examine as of this day (YYYY-MM-DD); default today
    circuit_failures      CIRCUIT_FAILURES      consecutive delivery failures that open a country's
                                                circuit breaker
    circuit_reset         CIRCUIT_RESET         how long an open circuit refuses calls before it
                                                lets one probe through (duration)
    circuit_fallback_after CIRCUIT_FALLBACK_AFTER  a circuit open this long sends the certificates
                                                waiting for it to the manual channel (duration)
    tls_ca_file           TLS_CA_FILE           CA bundle of the customs' server certificates;
                                                default the system store (https with the
                                                development TLS: DATA_DIR/tls/ca.pem)
    tls_cert_file         TLS_CERT_FILE         client certificate shown to customs (mutual TLS)
    tls_key_file          TLS_KEY_FILE          its private key
    customs_trust_dir     CUSTOMS_TRUST_DIR     the customs' response-signing public keys,
                                                <COUNTRY>.pem; default DATA_DIR/customs/trust
    verification_deadlines VERIFICATION_DEADLINES  time to reply to a verification request per
                                                agreement: RCEP=90d,ACFTA=90d (RCEP Article 3.24
                                                allows 30 to 90 days)
    verification_warning  VERIFICATION_WARNING  how long before that deadline the warning alert
    receiver_host         RECEIVER_HOST         address the callback receiver (`eco receiver`) binds
    receiver_port         RECEIVER_PORT         its port; the default callback URL points at it
    reconcile_after       RECONCILE_AFTER       a certificate delivered this long ago without a
                                                decision is asked about (duration; 0 turns the
                                                reconciliation poller off)
    reconcile_every       RECONCILE_EVERY       how often the poller looks for such certificates
    reconcile_rate        RECONCILE_RATE        status calls per second, at most (all countries)
    reconcile_batch       RECONCILE_BATCH       certificates asked about per round, at most
    """

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_partitions: int = 4
    app_id: str = "eco-pipeline"
    data_dir: Path = Path(".eco")
    worker_web_port: int = 6066
    worker_web_host: str = "127.0.0.1"
    log_level: str = "info"
    retry_attempts: int = 5
    retry_backoff: float = 0.2
    response_deadline: float = 6 * 3600.0
    response_deadlines: Mapping[str, float] = field(default_factory=dict)
    deadline_check_every: float = 30.0
    sandbox_url: str = "http://127.0.0.1:8443"
    sandbox_port: int = 8443
    callback_url: str = "http://127.0.0.1:6067"
    direct_countries: tuple[str, ...] = ("VN", "TH", "MY")
    examination_date: date | None = None
    circuit_failures: int = 5
    circuit_reset: float = 30.0
    circuit_fallback_after: float = 600.0
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    customs_trust_dir: Path | None = None
    verification_deadlines: Mapping[str, float] = field(
        default_factory=lambda: {"RCEP": 90 * 86400.0, "ACFTA": 90 * 86400.0})
    verification_warning: float = 14 * 86400.0
    receiver_host: str = "127.0.0.1"
    receiver_port: int = 6067
    reconcile_after: float = 300.0
    reconcile_every: float = 30.0
    reconcile_rate: float = 5.0
    reconcile_batch: int = 100

    def examination_day(self) -> date:
        """The day examinations are made as of: the configured one, or today (UTC)."""
        return self.examination_date or datetime.now(UTC).date()

    def deadline_for(self, country: str) -> float:
        """Seconds the importing customs of ``country`` has to decide."""
        return self.response_deadlines.get(country.upper(), self.response_deadline)

    def verification_deadline_for(self, agreement: str) -> float:
        """Seconds the issuing side has to reply to a verification request under ``agreement``
        (RCEP Article 3.24; ACFTA Form E Rule 18); the longest configured one if unknown."""
        known = self.verification_deadlines.get(agreement.upper())
        return known if known is not None else max(self.verification_deadlines.values(),
                                                   default=90 * 86400.0)

    @property
    def customs_trust(self) -> Path:
        """Where the customs' response-signing public keys are read from."""
        return self.customs_trust_dir or self.data_dir / "customs" / "trust"

    @property
    def kafka_url(self) -> str:
        return f"kafka://{self.kafka_bootstrap}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings from ``ECO_*`` variables; a malformed value raises ValueError naming it."""
        env = os.environ if env is None else env
        d = cls()

        def get(name: str, default: str) -> str:
            return env.get(f"ECO_{name}", default)

        def integer(name: str, default: int) -> int:
            raw = get(name, str(default))
            try:
                return int(raw)
            except ValueError as exc:
                raise ValueError(f"ECO_{name}={raw!r} is not a whole number") from exc

        worker_port = integer("WORKER_WEB_PORT", d.worker_web_port)
        sandbox_port = integer("SANDBOX_PORT", d.sandbox_port)
        receiver_port = integer("RECEIVER_PORT", d.receiver_port)
        raw_rate = get("RECONCILE_RATE", str(d.reconcile_rate))
        try:
            reconcile_rate = float(raw_rate)
        except ValueError as exc:
            raise ValueError(f"ECO_RECONCILE_RATE={raw_rate!r} is not a number") from exc
        if not math.isfinite(reconcile_rate) or reconcile_rate <= 0:
            raise ValueError(f"ECO_RECONCILE_RATE={raw_rate!r} must be more than 0 per second")
        return cls(
            kafka_bootstrap=get("KAFKA_BOOTSTRAP", d.kafka_bootstrap),
            kafka_partitions=integer("KAFKA_PARTITIONS", d.kafka_partitions),
            app_id=get("APP_ID", d.app_id),
            data_dir=Path(get("DATA_DIR", str(d.data_dir))),
            worker_web_port=worker_port,
            worker_web_host=get("WORKER_WEB_HOST", d.worker_web_host),
            log_level=get("LOG_LEVEL", d.log_level).lower(),
            retry_attempts=integer("RETRY_ATTEMPTS", d.retry_attempts),
            retry_backoff=_duration(
                get("RETRY_BACKOFF", str(d.retry_backoff)), "ECO_RETRY_BACKOFF"
            ),
            response_deadline=_duration(
                get("RESPONSE_DEADLINE", str(d.response_deadline)), "ECO_RESPONSE_DEADLINE"
            ),
            response_deadlines=_country_durations(
                get("RESPONSE_DEADLINES", ""), "ECO_RESPONSE_DEADLINES"
            ),
            deadline_check_every=_duration(
                get("DEADLINE_CHECK_EVERY", str(d.deadline_check_every)), "ECO_DEADLINE_CHECK_EVERY"
            ),
            sandbox_url=get("SANDBOX_URL", f"http://127.0.0.1:{sandbox_port}"),
            sandbox_port=sandbox_port,
            callback_url=get("CALLBACK_URL", f"http://127.0.0.1:{receiver_port}"),
            examination_date=_day(get("EXAMINATION_DATE", ""), "ECO_EXAMINATION_DATE"),
            direct_countries=tuple(
                c.strip().upper()
                for c in get("DIRECT_COUNTRIES", ",".join(d.direct_countries)).split(",")
                if c.strip()
            ),
            circuit_failures=integer("CIRCUIT_FAILURES", d.circuit_failures),
            circuit_reset=_duration(get("CIRCUIT_RESET", str(d.circuit_reset)),
                                    "ECO_CIRCUIT_RESET"),
            circuit_fallback_after=_duration(
                get("CIRCUIT_FALLBACK_AFTER", str(d.circuit_fallback_after)),
                "ECO_CIRCUIT_FALLBACK_AFTER",
            ),
            tls_ca_file=_path(get("TLS_CA_FILE", "")),
            tls_cert_file=_path(get("TLS_CERT_FILE", "")),
            tls_key_file=_path(get("TLS_KEY_FILE", "")),
            customs_trust_dir=_path(get("CUSTOMS_TRUST_DIR", "")),
            verification_deadlines={
                **d.verification_deadlines,
                **_agreement_durations(get("VERIFICATION_DEADLINES", ""),
                                       "ECO_VERIFICATION_DEADLINES"),
            },
            verification_warning=_duration(
                get("VERIFICATION_WARNING", str(d.verification_warning)),
                "ECO_VERIFICATION_WARNING",
            ),
            receiver_host=get("RECEIVER_HOST", d.receiver_host),
            receiver_port=receiver_port,
            reconcile_after=_duration(get("RECONCILE_AFTER", str(d.reconcile_after)),
                                      "ECO_RECONCILE_AFTER"),
            reconcile_every=_duration(get("RECONCILE_EVERY", str(d.reconcile_every)),
                                      "ECO_RECONCILE_EVERY"),
            reconcile_rate=reconcile_rate,
            reconcile_batch=integer("RECONCILE_BATCH", d.reconcile_batch),
        )
