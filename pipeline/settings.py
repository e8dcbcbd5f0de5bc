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
    callback_url: str = "http://127.0.0.1:6066"
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
        sandbox_port = integer("SANDBOX_PORT", d.sandbox_port)
        portal_port = integer("PORTAL_PORT", d.portal_port)
        portal_url = get("PORTAL_URL", f"https://127.0.0.1:{portal_port}").rstrip("/")
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
            callback_url=get("CALLBACK_URL", f"http://127.0.0.1:{worker_port}"),
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
