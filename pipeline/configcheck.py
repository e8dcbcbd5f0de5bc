"""The start-up check: every problem of the configuration at once, each naming the setting or
the file, before a process touches Kafka (``eco worker`` exits 2 with the list)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from pipeline.errors import ConfigurationError, InvalidInput
from pipeline.settings import Settings

Check = Callable[[Settings], list[str]]


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """The settings, or one ConfigurationError naming every malformed ``ECO_*`` value."""
    env = os.environ if env is None else env
    ours = {name: value for name, value in env.items() if name.startswith("ECO_")}
    try:
        return Settings.from_env(ours)
    except ValueError:
        pass
    problems = []
    for name, value in sorted(ours.items()):
        try:
            Settings.from_env({name: value})
        except ValueError as exc:
            problems.append(str(exc))
    raise ConfigurationError(problems or ["the ECO_* settings do not fit together"])


def _files(settings: Settings) -> list[str]:
    """Files a setting names must be there."""
    named: dict[str, Path | None] = {
        "ECO_OFFICES_FILE": settings.offices_file,
        "ECO_CUSTOMS_FILE": settings.customs_file,
        "ECO_PKCS11_MODULE": settings.pkcs11_module,
        "ECO_PKCS11_PIN_FILE": settings.pkcs11_pin_file,
        "ECO_NOTIFICATION_KEY": settings.notification_key_file,
        "ECO_KAFKA_SSL_CAFILE": settings.kafka_ssl_cafile,
        "ECO_KAFKA_SSL_CERTFILE": settings.kafka_ssl_certfile,
        "ECO_KAFKA_SSL_KEYFILE": settings.kafka_ssl_keyfile,
        "ECO_TLS_CA_FILE": settings.tls_ca_file,
        "ECO_TLS_CERT_FILE": settings.tls_cert_file,
        "ECO_TLS_KEY_FILE": settings.tls_key_file,
    }
    problems = [f"{name}={path}: no such file" for name, path in named.items()
                if path is not None and not path.is_file()]
    secrets = {"ECO_PKCS11_PIN_FILE": settings.pkcs11_pin_file,
               "ECO_NOTIFICATION_KEY": settings.notification_key_file,
               "ECO_KAFKA_SSL_KEYFILE": settings.kafka_ssl_keyfile,
               "ECO_TLS_KEY_FILE": settings.tls_key_file}
    for name, path in secrets.items():
        if path is not None and path.is_file() and path.stat().st_mode & 0o077:
            problems.append(f"{name}={path}: readable by others (mode "
                            f"{path.stat().st_mode & 0o777:o}); make it 0600")
    return problems


def _kafka(settings: Settings) -> list[str]:
    problems = []
    protocol = settings.kafka_security_protocol
    if protocol.startswith("SASL") and not (settings.kafka_sasl_username
                                            and settings.kafka_sasl_password):
        problems.append(f"ECO_KAFKA_SECURITY_PROTOCOL={protocol} needs ECO_KAFKA_SASL_USERNAME "
                        "and ECO_KAFKA_SASL_PASSWORD")
    if (settings.kafka_ssl_certfile is None) != (settings.kafka_ssl_keyfile is None):
        problems.append("ECO_KAFKA_SSL_CERTFILE and ECO_KAFKA_SSL_KEYFILE go together")
    if protocol in ("PLAINTEXT", "SASL_PLAINTEXT") and settings.kafka_ssl_cafile is not None:
        problems.append(f"ECO_KAFKA_SSL_CAFILE is set but ECO_KAFKA_SECURITY_PROTOCOL={protocol} "
                        "does not use TLS")
    if settings.kafka_min_insync_replicas > settings.kafka_replication_factor:
        problems.append(f"ECO_KAFKA_MIN_INSYNC_REPLICAS={settings.kafka_min_insync_replicas} "
                        "exceeds ECO_KAFKA_REPLICATION_FACTOR="
                        f"{settings.kafka_replication_factor}: no write could succeed")
    if settings.kafka_replication_factor < 1 or settings.kafka_min_insync_replicas < 1:
        problems.append("ECO_KAFKA_REPLICATION_FACTOR and ECO_KAFKA_MIN_INSYNC_REPLICAS must "
                        "be 1 or more")
    return problems


def _keys(settings: Settings) -> list[str]:
    """Every office's key and certificate (unless the development PKI makes them)."""
    from pipeline.certificate.officekeys import OfficeKeys
    from pipeline.offices import load_offices

    if settings.dev_pki:
        if settings.office_keys_dir or settings.trust_dir:
            return ["ECO_DEV_PKI=true writes development keys under ECO_DATA_DIR/pki only; "
                    "unset ECO_OFFICE_KEYS_DIR and ECO_TRUST_DIR, or ECO_DEV_PKI"]
        return []
    if settings.offices_file is not None and not settings.offices_file.is_file():
        return []  # named by _files
    try:
        offices = load_offices(settings.offices_file)
        OfficeKeys.from_settings(settings).load_all(offices)
    except InvalidInput as exc:
        return [f"ECO_OFFICES_FILE: {exc}"]
    except ConfigurationError as exc:
        return list(exc.problems)
    except OSError as exc:
        return [f"office keys: {exc}"]
    return []


def _customs(settings: Settings) -> list[str]:
    """The countries of ``ECO_CUSTOMS_FILE``, each entry checked."""
    from connectors.customs.responses import RESPONSE_STATUSES
    from pipeline.customsfile import load_customs_file

    if settings.customs_file is None or not settings.customs_file.is_file():
        return []
    try:
        load_customs_file(settings.customs_file, frozenset(RESPONSE_STATUSES))
    except ConfigurationError as exc:
        return list(exc.problems)
    return []


CHECKS: list[Check] = [_files, _kafka, _customs]


def check_configuration(settings: Settings, *, signing: bool = False) -> list[str]:
    """Every problem found (with ``signing``, the offices' keys too: a process that issues
    certificates); an empty list when the configuration can work."""
    problems: list[str] = []
    for check in [*CHECKS, _keys] if signing else CHECKS:
        problems += check(settings)
    return problems


def checked_settings(*, signing: bool = False) -> Settings:
    """The settings of a starting process; ConfigurationError listing every problem."""
    settings = settings_from_env()
    problems = check_configuration(settings, signing=signing)
    if problems:
        raise ConfigurationError(problems)
    if settings.customs_file is not None:
        from pipeline.customsfile import load_customs_file, with_customs_file

        settings = with_customs_file(settings, load_customs_file(settings.customs_file))
    return settings


def report(command: str, error: ConfigurationError) -> str:
    """What a command prints when it cannot start: one line per problem."""
    count = len(error.problems)
    lines = [f"{command}: the configuration has {count} problem{'s' if count > 1 else ''}:"]
    lines += [f"  - {problem}" for problem in error.problems]
    if any(p.startswith("office ") and "is missing" in p for p in error.problems):
        lines.append("  (to try it out with development keys, set ECO_DEV_PKI=true; never in "
                     "production)")
    return "\n".join(lines)
