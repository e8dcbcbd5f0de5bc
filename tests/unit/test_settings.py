"""Settings from ``ECO_*`` variables: defaults, every variable, durations and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.settings import Settings

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def test_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.kafka_url == "kafka://127.0.0.1:9092"
    assert settings.response_deadline == 6 * 3600
    assert settings.response_deadlines == {}
    assert settings.direct_countries == ("VN", "TH", "MY")
    assert settings.sandbox_url == "http://127.0.0.1:8443"
    assert settings.callback_url == "http://127.0.0.1:6067"  # the callback receiver


def test_every_variable_is_read() -> None:
    settings = Settings.from_env({
        "ECO_KAFKA_BOOTSTRAP": "broker:29092",
        "ECO_KAFKA_PARTITIONS": "8",
        "ECO_APP_ID": "eco-test",
        "ECO_DATA_DIR": "/var/lib/eco",
        "ECO_WORKER_WEB_PORT": "7000",
        "ECO_WORKER_WEB_HOST": "0.0.0.0",
        "ECO_LOG_LEVEL": "DEBUG",
        "ECO_RETRY_ATTEMPTS": "3",
        "ECO_RETRY_BACKOFF": "500",
        "ECO_RESPONSE_DEADLINE": "2d",
        "ECO_RESPONSE_DEADLINES": "VN=6h,TH=4h",
        "ECO_DEADLINE_CHECK_EVERY": "15m",
        "ECO_SANDBOX_URL": "https://customs.example:9443",
        "ECO_SANDBOX_PORT": "9443",
        "ECO_CALLBACK_URL": "https://worker.example",
        "ECO_DIRECT_COUNTRIES": "vn, id ,,",
    })
    assert settings == Settings(
        kafka_bootstrap="broker:29092", kafka_partitions=8, app_id="eco-test",
        data_dir=Path("/var/lib/eco"), worker_web_port=7000, worker_web_host="0.0.0.0",
        log_level="debug", retry_attempts=3, retry_backoff=500.0, response_deadline=172800.0,
        response_deadlines={"VN": 21600.0, "TH": 14400.0}, deadline_check_every=900.0,
        sandbox_url="https://customs.example:9443", sandbox_port=9443,
        callback_url="https://worker.example", direct_countries=("VN", "ID"),
    )
    assert settings.kafka_url == "kafka://broker:29092"


def test_urls_follow_the_ports_unless_given() -> None:
    settings = Settings.from_env({"ECO_RECEIVER_PORT": "7001", "ECO_SANDBOX_PORT": "9001"})
    assert settings.callback_url == "http://127.0.0.1:7001"
    assert settings.sandbox_url == "http://127.0.0.1:9001"


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_APP_ID", "from-process")
    assert Settings.from_env().app_id == "from-process"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("15m", 900.0), ("6h", 21600.0), ("2d", 172800.0), ("45", 45.0),
     ("0.5", 0.5), (" 90S ", 90.0), ("1.5h", 5400.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert Settings.from_env({"ECO_DEADLINE_CHECK_EVERY": text}).deadline_check_every == seconds


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(UNITS)))
def test_a_whole_number_with_a_unit_is_that_many_units(count: int, unit: str) -> None:
    settings = Settings.from_env({"ECO_RESPONSE_DEADLINE": f"{count}{unit}"})
    assert settings.response_deadline == count * UNITS[unit]


def test_per_country_deadlines_and_deadline_for() -> None:
    settings = Settings.from_env({"ECO_RESPONSE_DEADLINE": "8h",
                                  "ECO_RESPONSE_DEADLINES": " vn=6h , TH=4h ,"})
    assert settings.response_deadlines == {"VN": 21600.0, "TH": 14400.0}
    assert settings.deadline_for("VN") == 21600.0
    assert settings.deadline_for("th") == 14400.0
    assert settings.deadline_for("MY") == 8 * 3600.0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ECO_KAFKA_PARTITIONS", "four", "ECO_KAFKA_PARTITIONS='four' is not a whole number"),
        ("ECO_WORKER_WEB_PORT", "60.66", "ECO_WORKER_WEB_PORT='60.66' is not a whole number"),
        ("ECO_SANDBOX_PORT", "", "ECO_SANDBOX_PORT='' is not a whole number"),
        ("ECO_RETRY_ATTEMPTS", "5x", "ECO_RETRY_ATTEMPTS='5x' is not a whole number"),
        ("ECO_RETRY_BACKOFF", "fast", "ECO_RETRY_BACKOFF='fast' is not a duration"),
        ("ECO_RESPONSE_DEADLINE", "6w", "ECO_RESPONSE_DEADLINE='6w' is not a duration"),
        ("ECO_RESPONSE_DEADLINE", "", "ECO_RESPONSE_DEADLINE='' is not a duration"),
        ("ECO_DEADLINE_CHECK_EVERY", "h", "ECO_DEADLINE_CHECK_EVERY='h' is not a duration"),
        ("ECO_RESPONSE_DEADLINES", "VN6h", "ECO_RESPONSE_DEADLINES: 'VN6h' is not COUNTRY="),
        ("ECO_RESPONSE_DEADLINES", "VNM=6h", "ECO_RESPONSE_DEADLINES: 'VNM=6h' is not COUNTRY="),
        ("ECO_RESPONSE_DEADLINES", "VN=soon", "ECO_RESPONSE_DEADLINES='soon' is not a duration"),
    ],
)
def test_a_malformed_value_names_its_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Settings.from_env({name: value})
    assert str(raised.value).startswith(message)


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.app_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize("value", ["-30s", "nan", "inf"])
def test_a_duration_is_a_finite_non_negative_number(value: str) -> None:
    with pytest.raises(ValueError, match="ECO_DEADLINE_CHECK_EVERY"):
        Settings.from_env({"ECO_DEADLINE_CHECK_EVERY": value})


def test_the_frame_and_membership_settings() -> None:
    defaults = Settings.from_env({"ECO_WORKER_WEB_PORT": "7001"})
    assert defaults.partitions == 12 and defaults.batch_max == 200
    assert defaults.batch_window_ms == 10
    assert Settings.from_env({"ECO_BATCH_WINDOW_MS": "0"}).batch_window_ms == 0
    with pytest.raises(ValueError, match="ECO_BATCH_WINDOW_MS=-1 must be 0 or more"):
        Settings.from_env({"ECO_BATCH_WINDOW_MS": "-1"})
    assert defaults.store == "rocksdb://"
    assert defaults.group_instance_id().endswith("-7001")
    chosen = Settings.from_env({"ECO_PARTITIONS": "6", "ECO_KAFKA_PARTITIONS": "8",
                                "ECO_BATCH_MAX": "50", "ECO_WORKER_INSTANCE_ID": "w-1",
                                "ECO_STORE": "memory://", "ECO_ROCKSDB_CACHE_MB": "4"})
    assert (chosen.partitions, chosen.batch_max, chosen.group_instance_id()) == (6, 50, "w-1")
    assert (chosen.store, chosen.rocksdb_cache_mb) == ("memory://", 4)
    assert Settings.from_env({"ECO_KAFKA_PARTITIONS": "8"}).partitions == 8
def test_reconciliation_settings() -> None:
    settings = Settings.from_env({"ECO_RECONCILE_AFTER": "2m", "ECO_RECONCILE_EVERY": "5s",
                                  "ECO_RECONCILE_RATE": "0.5", "ECO_RECONCILE_BATCH": "7",
                                  "ECO_RECEIVER_HOST": "0.0.0.0", "ECO_RECEIVER_PORT": "7100"})
    assert (settings.reconcile_after, settings.reconcile_every) == (120.0, 5.0)
    assert (settings.reconcile_rate, settings.reconcile_batch) == (0.5, 7)
    assert (settings.receiver_host, settings.receiver_port) == ("0.0.0.0", 7100)
    with pytest.raises(ValueError, match="ECO_RECONCILE_RATE"):
        Settings.from_env({"ECO_RECONCILE_RATE": "0"})
    with pytest.raises(ValueError, match="ECO_RECONCILE_RATE"):
        Settings.from_env({"ECO_RECONCILE_RATE": "fast"})
