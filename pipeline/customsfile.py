"""The importing countries of a real deployment (``ECO_CUSTOMS_FILE``): per country, where its
customs endpoint is, the client certificate and key for mutual TLS, the CA bundle of its
server, the public key its responses are signed with, its response deadline and its own status
codes. Without the file the sandbox customs of the demo is used.

The file is JSON; relative paths are read from the file's directory::

    {"countries": {
      "VN": {"endpoint": "https://ecosys.customs.gov.vn/eco/v1",
             "client_certificate": "tls/vn-client.pem", "client_key": "tls/vn-client.key",
             "ca_bundle": "tls/vn-ca.pem", "response_key": "keys/vn-responses.pem",
             "response_deadline": "6h",
             "status_codes": {"RECEIPT": "ACKNOWLEDGED", "UTILISATION": "PREFERENCE_GIVEN"},
             "customs_authority": "General Department of Viet Nam Customs"}}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigurationError, InvalidInput
from pipeline.jsonlimits import JsonLimits, read_json_bytes
from pipeline.settings import Settings, _duration

FIELDS = {"endpoint", "client_certificate", "client_key", "ca_bundle", "response_key",
          "response_deadline", "status_codes", "customs_authority"}
FILES = ("client_certificate", "client_key", "ca_bundle", "response_key")


@dataclass(frozen=True)
class CustomsEndpoint:
    """How one importing country's customs is reached and trusted."""

    country: str
    endpoint: str
    ca_bundle: Path | None = None
    client_certificate: Path | None = None
    client_key: Path | None = None
    response_key: Path | None = None
    response_deadline: float | None = None
    status_codes: Mapping[str, str] = field(default_factory=dict)
    customs_authority: str = ""


def load_customs_file(path: Path, known_statuses: frozenset[str] | None = None
                      ) -> dict[str, CustomsEndpoint]:
    """The countries of the file, checked; ConfigurationError naming every problem (country,
    field, file)."""
    where = f"ECO_CUSTOMS_FILE {path}"
    try:
        document = read_json_bytes(path.read_bytes(), JsonLimits(max_bytes=1 << 20),
                                   source=str(path))
    except OSError as exc:
        raise ConfigurationError([f"{where}: {exc}"]) from exc
    except InvalidInput as exc:
        raise ConfigurationError([f"{where}: {p}" for p in exc.problems]) from exc
    countries = document.get("countries") if isinstance(document, dict) else None
    if not isinstance(countries, dict) or not countries:
        raise ConfigurationError([f"{where}: expected {{\"countries\": {{\"VN\": {{...}}}}}}"])
    problems: list[str] = []
    found: dict[str, CustomsEndpoint] = {}
    for country, entry in countries.items():
        at = f"{where}: countries.{country}"
        if not (isinstance(country, str) and len(country) == 2 and country.isalpha()
                and country.isupper()):
            problems.append(f"{at}: not an ISO 3166-1 alpha-2 country code")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{at}: expected an object")
            continue
        endpoint, entry_problems = _endpoint(country, entry, path.parent, at, known_statuses)
        problems += entry_problems
        if endpoint is not None:
            found[country] = endpoint
    if problems:
        raise ConfigurationError(problems)
    return found


def _endpoint(country: str, entry: Mapping[str, Any], base: Path, at: str,
              known_statuses: frozenset[str] | None
              ) -> tuple[CustomsEndpoint | None, list[str]]:
    problems = [f"{at}.{name}: unknown field (known: {', '.join(sorted(FIELDS))})"
                for name in entry if name not in FIELDS]
    url = entry.get("endpoint")
    if not isinstance(url, str) or not url.startswith("https://"):
        problems.append(f"{at}.endpoint: must be an https:// URL, not {url!r}")
    files: dict[str, Path | None] = {}
    for name in FILES:
        value = entry.get(name)
        if value is None:
            files[name] = None
            continue
        file = base / str(value)
        if not file.is_file():
            problems.append(f"{at}.{name}: {file} is not a file")
        files[name] = file
    if (files["client_certificate"] is None) != (files["client_key"] is None):
        problems.append(f"{at}: client_certificate and client_key go together (mutual TLS)")
    if files["response_key"] is None:
        problems.append(f"{at}.response_key: required (the key customs sign responses with)")
    deadline = None
    if entry.get("response_deadline") is not None:
        try:
            deadline = _duration(str(entry["response_deadline"]), f"{at}.response_deadline")
        except ValueError as exc:
            problems.append(str(exc))
    codes = entry.get("status_codes") or {}
    if not isinstance(codes, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in codes.items()):
        problems.append(f"{at}.status_codes: expected an object of code -> status")
        codes = {}
    for code, status in codes.items():
        if known_statuses is not None and status not in known_statuses:
            problems.append(f"{at}.status_codes.{code}: {status!r} is not one of "
                            f"{', '.join(sorted(known_statuses))}")
    if problems:
        return None, problems
    assert isinstance(url, str)
    return CustomsEndpoint(
        country, url, files["ca_bundle"], files["client_certificate"], files["client_key"],
        files["response_key"], deadline, {k.upper(): v for k, v in codes.items()},
        str(entry.get("customs_authority") or "")), []


def with_customs_file(settings: Settings, countries: Mapping[str, CustomsEndpoint]
                      ) -> Settings:
    """The settings a process runs with: the file's countries are the direct ones, and their
    deadlines override ``ECO_RESPONSE_DEADLINES``."""
    deadlines = {**settings.response_deadlines,
                 **{c: e.response_deadline for c, e in countries.items()
                    if e.response_deadline is not None}}
    return replace(settings, direct_countries=tuple(sorted(countries)),
                   response_deadlines=deadlines)


def response_keys(settings: Settings) -> dict[str, Path]:
    """Each configured country's response-signing public key (none without the file)."""
    if settings.customs_file is None:
        return {}
    return {country: endpoint.response_key
            for country, endpoint in load_customs_file(settings.customs_file).items()
            if endpoint.response_key is not None}
