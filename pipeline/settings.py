"""Settings: one small frozen object built from ``ECO_*`` environment variables.

Every setting is documented here and listed in the README. The defaults make
``make demo`` work on a fresh machine.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any


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


def _examination_date(get: Callable[[str, str], str]) -> date | None:
    """ECO_EXAMINATION_DATE: the day examinations are made as of and certificates are dated
    (``pipeline.clock``). Dating a signature on another day than it is made is for
    development keys only, so the setting needs ECO_DEV_PKI=true."""
    day = _day(get("EXAMINATION_DATE", ""), "ECO_EXAMINATION_DATE")
    if day is not None and not _flag(get("DEV_PKI", ""), "ECO_DEV_PKI"):
        raise ValueError(f"ECO_EXAMINATION_DATE={day} dates certificates on that day, whatever "
                         "day they are signed: it is allowed only with development keys "
                         "(ECO_DEV_PKI=true)")
    return day


def _country_durations(value: str, name: str) -> dict[str, float]:
    """``VN=6h,TH=4h`` -> {"VN": 21600.0, "TH": 14400.0}."""
    result: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        country, sep, duration = part.partition("=")
        if not sep or len(country.strip()) != 2:
            raise ValueError(f"{name}: {part!r} is not COUNTRY=DURATION (for example VN=6h)")
        result[country.strip().upper()] = _duration(duration, name)
    return result


def _reference_formats(value: str) -> str:
    """The ``ECO_REFERENCE_FORMATS`` text, checked (``pipeline.certificate.numbering``)."""
    from pipeline.certificate.numbering import parse_reference_formats

    try:
        parse_reference_formats(value)
    except ValueError as exc:
        raise ValueError(f"ECO_REFERENCE_FORMATS: {exc}") from exc
    return value
def _log_format(value: str) -> str:
    fmt = value.strip().lower()
    if fmt not in ("auto", "json", "console"):
        raise ValueError(f"ECO_LOG_FORMAT={value!r} is not one of auto, json, console")
    return fmt


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
    callback_url          CALLBACK_URL          where customs deliver responses (`eco receiver`)
    direct_countries      DIRECT_COUNTRIES      importing countries with a direct connection
    examination_date      EXAMINATION_DATE      examine as of this day (YYYY-MM-DD) and date the
                                                certificates on it (one clock, pipeline/clock.py);
                                                only with DEV_PKI=true; default the day of the
                                                event that completes each application
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
    partitions            PARTITIONS            partitions of each eco.* topic when created (12;
                                                the older name KAFKA_PARTITIONS is read too)
    batch_max             BATCH_MAX             events a stage applies in one batch at most
    batch_window_ms       BATCH_WINDOW_MS       how long a busy stage waits for a whole batch
                                                before it takes fewer (ms; 10; 0: never)
    kafka_linger_ms       KAFKA_LINGER_MS       how long the worker's producer gathers records into
                                                one request (ms; 5): fewer, larger writes
    worker_instance_id    WORKER_INSTANCE_ID    static group membership id of this worker;
                                                default <host>-<worker web port>
    store                 STORE                 table store: rocksdb:// (default) or memory://
    rocksdb_cache_mb      ROCKSDB_CACHE_MB      memory of all the worker's RocksDB tables together
                                                (MiB): one block cache, memtables charged to it
    customs_in_flight     CUSTOMS_IN_FLIGHT     deliveries under way at once to one country's
                                                customs (over one reused HTTP session)
    reference_formats     REFERENCE_FORMATS     certificate reference numbers per agreement:
                                                ACFTA=E{yy}{registration:9}{serial:4},RCEP=R{yy}
                                                {registration:9}{serial:4} (China's format,
                                                DOMAIN.md 1.6; registration = the applicant's)
    log_format            LOG_FORMAT            auto (console form on a terminal, else JSON
                                                lines), json or console
    prometheus_port       PROMETHEUS_PORT       where `eco demo` serves a local Prometheus (with
                                                the project's rules) when one is installed

    Security for a real deployment (docs/security.md; README, "Deploying with real keys"):
    dev_pki               DEV_PKI               true: generate development keys where none are
                                                (the demo and the tests); never in production
    office_keys_dir       OFFICE_KEYS_DIR       <OFFICE>.key and <OFFICE>.pem of every issuing
                                                office; default DATA_DIR/pki/keys (the .pem may
                                                also sit in TRUST_DIR); read, never written
    trust_dir             TRUST_DIR             trust anchors: the issuing CA certificates and
                                                the offices' certificates (DATA_DIR/pki/trust)
    offices_file          OFFICES_FILE          JSON list of issuing offices (pipeline/offices.py)
    customs_file          CUSTOMS_FILE          JSON per importing country: endpoint, TLS, response
                                                key, deadline, status codes (connectors/customs)
    pkcs11_module         PKCS11_MODULE         the HSM's PKCS#11 library; offices in
                                                PKCS11_KEY_LABELS sign inside the token
    pkcs11_token_label    PKCS11_TOKEN_LABEL    the token holding the office keys
    pkcs11_pin            PKCS11_PIN            the token's user PIN (prefer PKCS11_PIN_FILE)
    pkcs11_pin_file       PKCS11_PIN_FILE       a file holding the PIN
    pkcs11_key_labels     PKCS11_KEY_LABELS     OFFICE=LABEL,...: the office keys in the token
    notification_key_file NOTIFICATION_KEY      private key (PEM) that signs trust notifications
                                                and officer requests sent by this process
    notification_key_id   NOTIFICATION_KEY_ID   its name, <id>.pem in NOTIFICATION_KEYS_DIR;
                                                default the key file's stem
    notification_keys_dir NOTIFICATION_KEYS_DIR public keys allowed to sign notifications;
                                                default DATA_DIR/pki/notifiers
    kafka_security_protocol KAFKA_SECURITY_PROTOCOL PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    kafka_sasl_mechanism  KAFKA_SASL_MECHANISM  SCRAM-SHA-512 (default), SCRAM-SHA-256, PLAIN
    kafka_sasl_username   KAFKA_SASL_USERNAME   this process's Kafka principal
    kafka_sasl_password   KAFKA_SASL_PASSWORD   its password (never logged)
    kafka_ssl_cafile      KAFKA_SSL_CAFILE      CA bundle of the brokers' certificates
    kafka_ssl_certfile    KAFKA_SSL_CERTFILE    client certificate (mutual TLS), optional
    kafka_ssl_keyfile     KAFKA_SSL_KEYFILE     its private key
    kafka_replication_factor KAFKA_REPLICATION_FACTOR replicas of each topic created (3 in
                                                production, 1 on one local broker)
    kafka_min_insync_replicas KAFKA_MIN_INSYNC_REPLICAS min.insync.replicas of each topic
                                                created (2 in production)
    faust_log_level       FAUST_LOG_LEVEL       log level of the Faust framework itself
    kafka_controller_port KAFKA_CONTROLLER_PORT the local broker's KRaft controller port
                                                (default: the broker port + 1)
    receiver_host         RECEIVER_HOST         address the callback receiver (`eco receiver`) binds
    receiver_port         RECEIVER_PORT         its port; the default callback URL points at it
    reconcile_after       RECONCILE_AFTER       a certificate delivered this long ago without a
                                                decision is asked about (duration; 0 turns the
                                                reconciliation poller off)
    reconcile_every       RECONCILE_EVERY       how often the poller looks for such certificates
    reconcile_rate        RECONCILE_RATE        status calls per second, at most (all countries)
    reconcile_batch       RECONCILE_BATCH       certificates asked about per round, at most
    portal_host           PORTAL_HOST           address the portal binds (HTTPS only)
    portal_port           PORTAL_PORT           its port (8444)
    portal_tls_cert       PORTAL_TLS_CERT       PEM server certificate (chain) of the portal
    portal_tls_key        PORTAL_TLS_KEY        its private key
    portal_url            PORTAL_URL            the portal's public address (sign-in redirect,
                                                the QR code's verification link)
    portal_max_body       PORTAL_MAX_BODY       largest request body accepted, bytes
    portal_max_depth      PORTAL_MAX_DEPTH      deepest JSON nesting accepted
    portal_rate_limit     PORTAL_RATE_LIMIT     requests per minute per tenant (and per address
                                                for unauthenticated callers)
    oidc_issuer           OIDC_ISSUER           the OpenID provider's issuer URL
    oidc_audience         OIDC_AUDIENCE         the audience of access tokens for the portal's
                                                API (default PORTAL_URL + "/")
    oidc_client_id        OIDC_CLIENT_ID        the portal's client at the provider (sign-in)
    oidc_client_secret    OIDC_CLIENT_SECRET    its secret
    oidc_tenant_claim     OIDC_TENANT_CLAIM     the claim holding the tenant (exporter id; a list
                                                for an authorised representative)
    oidc_roles_claim      OIDC_ROLES_CLAIM      the claim holding the roles
    oidc_ca_file          OIDC_CA_FILE          CA bundle of the provider's TLS certificate;
                                                default the system store
    oidc_leeway           OIDC_LEEWAY           clock skew allowed on exp, nbf and iat (duration)
    intake_dir            INTAKE_DIR            the file-drop directory of XML applications
    portal_ca_file        PORTAL_CA_FILE        CA bundle of the portal's TLS certificate, for
                                                ``eco submit --via portal``; default system store
    portal_token          PORTAL_TOKEN          the bearer token ``eco submit --via portal`` sends
    """

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_partitions: int = 12
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
    # The stage frame (batches) and the worker's group membership.
    batch_max: int = 200
    batch_window_ms: int = 10
    kafka_linger_ms: int = 5
    worker_instance_id: str = ""
    store: str = "rocksdb://"
    rocksdb_cache_mb: int = 64

    customs_in_flight: int = 8
    reference_formats: str = (
        "ACFTA=E{yy}{registration:9}{serial:4},RCEP=R{yy}{registration:9}{serial:4}"
    )
    log_format: str = "auto"
    prometheus_port: int = 9090
    # Security for a real deployment (docs/security.md).
    dev_pki: bool = False
    office_keys_dir: Path | None = None
    trust_dir: Path | None = None
    offices_file: Path | None = None
    customs_file: Path | None = None
    pkcs11_module: Path | None = None
    pkcs11_token_label: str = ""
    pkcs11_pin: str = field(default="", repr=False)
    pkcs11_pin_file: Path | None = None
    pkcs11_key_labels: Mapping[str, str] = field(default_factory=dict)
    notification_key_file: Path | None = None
    notification_key_id: str = ""
    notification_keys_dir: Path | None = None
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = field(default="", repr=False)
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_replication_factor: int = 1
    kafka_min_insync_replicas: int = 1
    faust_log_level: str = "warning"
    kafka_controller_port: str = ""

    @property
    def partitions(self) -> int:
        """Partitions of each eco.* topic when created (``ECO_PARTITIONS``)."""
        return self.kafka_partitions

    def group_instance_id(self) -> str:
        """This worker's static membership id: a restarted worker takes its partitions back
        at once instead of waiting for the session timeout."""
        return self.worker_instance_id or f"{socket.gethostname()}-{self.worker_web_port}"
    receiver_host: str = "127.0.0.1"
    receiver_port: int = 6067
    reconcile_after: float = 300.0
    reconcile_every: float = 30.0
    reconcile_rate: float = 5.0
    reconcile_batch: int = 100
    portal_host: str = "127.0.0.1"
    portal_port: int = 8444
    portal_tls_cert: Path | None = None
    portal_tls_key: Path | None = None
    portal_url: str = "https://127.0.0.1:8444"
    portal_max_body: int = 1024 * 1024
    portal_max_depth: int = 32
    portal_rate_limit: int = 300
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_client_id: str = "eco-portal"
    oidc_client_secret: str = ""
    oidc_tenant_claim: str = "eco_tenant"
    oidc_roles_claim: str = "eco_roles"
    oidc_ca_file: Path | None = None
    oidc_leeway: float = 30.0
    intake_dir: Path | None = None
    portal_ca_file: Path | None = None
    portal_token: str = field(default="", repr=False)

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
    def office_keys(self) -> Path:
        """Where the issuing offices' keys (and certificates) are read from."""
        return self.office_keys_dir or self.data_dir / "pki" / "keys"

    @property
    def trust(self) -> Path:
        """The trust anchors: issuing CA certificates and the offices' certificates."""
        return self.trust_dir or self.data_dir / "pki" / "trust"

    @property
    def notification_keys(self) -> Path:
        """The public keys allowed to sign trust notifications and officer requests."""
        return self.notification_keys_dir or self.data_dir / "pki" / "notifiers"

    @property
    def api_audience(self) -> str:
        """The audience the portal's access tokens must name: the setting, or the portal's
        address with a trailing slash (its resource indicator)."""
        return self.oidc_audience or f"{self.portal_url}/"

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
        batch_window_ms = integer("BATCH_WINDOW_MS", d.batch_window_ms)
        if batch_window_ms < 0:
            raise ValueError(f"ECO_BATCH_WINDOW_MS={batch_window_ms} must be 0 or more")
        sandbox_port = integer("SANDBOX_PORT", d.sandbox_port)
        receiver_port = integer("RECEIVER_PORT", d.receiver_port)
        raw_rate = get("RECONCILE_RATE", str(d.reconcile_rate))
        try:
            reconcile_rate = float(raw_rate)
        except ValueError as exc:
            raise ValueError(f"ECO_RECONCILE_RATE={raw_rate!r} is not a number") from exc
        if not math.isfinite(reconcile_rate) or reconcile_rate <= 0:
            raise ValueError(f"ECO_RECONCILE_RATE={raw_rate!r} must be more than 0 per second")
        portal_port = integer("PORTAL_PORT", d.portal_port)
        portal_url = get("PORTAL_URL", f"https://127.0.0.1:{portal_port}").rstrip("/")
        return cls(
            kafka_bootstrap=get("KAFKA_BOOTSTRAP", d.kafka_bootstrap),
            kafka_partitions=integer("PARTITIONS", integer("KAFKA_PARTITIONS",
                                                          d.kafka_partitions)),
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
            examination_date=_examination_date(get),
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
            batch_max=integer("BATCH_MAX", d.batch_max),
            batch_window_ms=batch_window_ms,
            kafka_linger_ms=integer("KAFKA_LINGER_MS", d.kafka_linger_ms),
            worker_instance_id=get("WORKER_INSTANCE_ID", d.worker_instance_id),
            store=get("STORE", d.store),
            rocksdb_cache_mb=integer("ROCKSDB_CACHE_MB", d.rocksdb_cache_mb),
            customs_in_flight=integer("CUSTOMS_IN_FLIGHT", d.customs_in_flight),
            reference_formats=_reference_formats(get("REFERENCE_FORMATS", d.reference_formats)),
            log_format=_log_format(get("LOG_FORMAT", d.log_format)),
            prometheus_port=integer("PROMETHEUS_PORT", d.prometheus_port),
            **_security_settings(get, integer),
            receiver_host=get("RECEIVER_HOST", d.receiver_host),
            receiver_port=receiver_port,
            reconcile_after=_duration(get("RECONCILE_AFTER", str(d.reconcile_after)),
                                      "ECO_RECONCILE_AFTER"),
            reconcile_every=_duration(get("RECONCILE_EVERY", str(d.reconcile_every)),
                                      "ECO_RECONCILE_EVERY"),
            reconcile_rate=reconcile_rate,
            reconcile_batch=integer("RECONCILE_BATCH", d.reconcile_batch),
            portal_host=get("PORTAL_HOST", d.portal_host),
            portal_port=portal_port,
            portal_tls_cert=_path(get("PORTAL_TLS_CERT", "")),
            portal_tls_key=_path(get("PORTAL_TLS_KEY", "")),
            portal_url=portal_url,
            portal_max_body=integer("PORTAL_MAX_BODY", d.portal_max_body),
            portal_max_depth=integer("PORTAL_MAX_DEPTH", d.portal_max_depth),
            portal_rate_limit=integer("PORTAL_RATE_LIMIT", d.portal_rate_limit),
            oidc_issuer=get("OIDC_ISSUER", d.oidc_issuer),
            oidc_audience=get("OIDC_AUDIENCE", d.oidc_audience),
            oidc_client_id=get("OIDC_CLIENT_ID", d.oidc_client_id),
            oidc_client_secret=get("OIDC_CLIENT_SECRET", d.oidc_client_secret),
            oidc_tenant_claim=get("OIDC_TENANT_CLAIM", d.oidc_tenant_claim),
            oidc_roles_claim=get("OIDC_ROLES_CLAIM", d.oidc_roles_claim),
            oidc_ca_file=_path(get("OIDC_CA_FILE", "")),
            oidc_leeway=_duration(get("OIDC_LEEWAY", str(d.oidc_leeway)), "ECO_OIDC_LEEWAY"),
            intake_dir=_path(get("INTAKE_DIR", "")),
            portal_ca_file=_path(get("PORTAL_CA_FILE", "")),
            portal_token=get("PORTAL_TOKEN", ""),
        )


def _flag(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={value!r} is not true or false")


def _labels(value: str, name: str) -> dict[str, str]:
    """``CN-SHA=sha-2026,CN-SZX=szx`` -> {"CN-SHA": "sha-2026", "CN-SZX": "szx"}."""
    result: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        office, sep, label = part.partition("=")
        if not sep or not office.strip() or not label.strip():
            raise ValueError(f"{name}: {part!r} is not OFFICE=LABEL (for example CN-SHA=sha-key)")
        result[office.strip()] = label.strip()
    return result


KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


def _choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    text = value.strip().upper()
    if text not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return text


def _security_settings(get: Callable[[str, str], str],
                       integer: Callable[[str, int], int]) -> dict[str, Any]:
    """The security block of :class:`Settings` (docs/security.md), from ``ECO_*`` values."""
    d = Settings
    return {
        "dev_pki": _flag(get("DEV_PKI", ""), "ECO_DEV_PKI"),
        "office_keys_dir": _path(get("OFFICE_KEYS_DIR", "")),
        "trust_dir": _path(get("TRUST_DIR", "")),
        "offices_file": _path(get("OFFICES_FILE", "")),
        "customs_file": _path(get("CUSTOMS_FILE", "")),
        "pkcs11_module": _path(get("PKCS11_MODULE", "")),
        "pkcs11_token_label": get("PKCS11_TOKEN_LABEL", ""),
        "pkcs11_pin": get("PKCS11_PIN", ""),
        "pkcs11_pin_file": _path(get("PKCS11_PIN_FILE", "")),
        "pkcs11_key_labels": _labels(get("PKCS11_KEY_LABELS", ""), "ECO_PKCS11_KEY_LABELS"),
        "notification_key_file": _path(get("NOTIFICATION_KEY", "")),
        "notification_key_id": get("NOTIFICATION_KEY_ID", ""),
        "notification_keys_dir": _path(get("NOTIFICATION_KEYS_DIR", "")),
        "kafka_security_protocol": _choice(
            get("KAFKA_SECURITY_PROTOCOL", d.kafka_security_protocol),
            "ECO_KAFKA_SECURITY_PROTOCOL", KAFKA_PROTOCOLS),
        "kafka_sasl_mechanism": _choice(
            get("KAFKA_SASL_MECHANISM", d.kafka_sasl_mechanism),
            "ECO_KAFKA_SASL_MECHANISM", SASL_MECHANISMS),
        "kafka_sasl_username": get("KAFKA_SASL_USERNAME", ""),
        "kafka_sasl_password": get("KAFKA_SASL_PASSWORD", ""),
        "kafka_ssl_cafile": _path(get("KAFKA_SSL_CAFILE", "")),
        "kafka_ssl_certfile": _path(get("KAFKA_SSL_CERTFILE", "")),
        "kafka_ssl_keyfile": _path(get("KAFKA_SSL_KEYFILE", "")),
        "kafka_replication_factor": integer("KAFKA_REPLICATION_FACTOR",
                                            d.kafka_replication_factor),
        "kafka_min_insync_replicas": integer("KAFKA_MIN_INSYNC_REPLICAS",
                                             d.kafka_min_insync_replicas),
        "faust_log_level": get("FAUST_LOG_LEVEL", d.faust_log_level).lower(),
        "kafka_controller_port": get("KAFKA_CONTROLLER_PORT", "").strip(),
    }
