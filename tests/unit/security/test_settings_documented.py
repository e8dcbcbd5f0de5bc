"""Every ECO_ variable is read in Settings and listed in the README; the deployment examples
use the production replication."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline.customsfile import FIELDS
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[3]


def test_every_security_setting_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    doc = Settings.__doc__ or ""
    names = set(re.findall(r"^    \w+ +([A-Z][A-Z0-9_]+)\b", doc, flags=re.M))
    assert {"DEV_PKI", "KAFKA_SECURITY_PROTOCOL", "PKCS11_MODULE", "CUSTOMS_FILE"} <= names
    missing = sorted(n for n in names if f"ECO_{n}" not in readme)
    assert missing == []


def test_no_eco_variable_is_read_outside_settings() -> None:
    pattern = re.compile(r"environ(?:\.get)?\(\s*[\"']ECO_|getenv\(\s*[\"']ECO_")
    offenders = [str(p.relative_to(REPO)) for root in ("pipeline", "agents", "connectors")
                 for p in (REPO / root).rglob("*.py")
                 if p.name != "settings.py" and pattern.search(p.read_text())]
    assert offenders == []


def test_the_production_examples_replicate_three_times() -> None:
    env = (REPO / "deploy" / "production" / "eco.env.example").read_text()
    assert "ECO_KAFKA_REPLICATION_FACTOR=3" in env
    assert "ECO_KAFKA_MIN_INSYNC_REPLICAS=2" in env
    assert "ECO_DEV_PKI=false" in env
    customs = json.loads((REPO / "deploy" / "production" / "customs.example.json").read_text())
    assert all(set(entry) <= FIELDS for entry in customs["countries"].values())
