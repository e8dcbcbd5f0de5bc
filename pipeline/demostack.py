"""The stack ``make demo`` leaves running: the portal with the demo OpenID provider, the
worker and the sandbox customs (and the broker), recorded in ``DATA_DIR/demo-stack.json`` so
that ``eco demo --stop`` (``make stop``) ends exactly those processes, and a new demo first
stops the one before it."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from pipeline.localkafka import LocalKafka, process_alive
from pipeline.services import Services
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PROVIDER = REPO / "deploy" / "oidc"


def state_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-stack.json"


def portal_environment(settings: Settings, env: Mapping[str, str]) -> dict[str, str]:
    """The settings of the demo's portal and provider: the development TLS certificate (made
    by ``generate_dev_tls``, the one the sandbox customs serves), the provider on the port
    after the portal's, a fresh client secret."""
    from connectors.customs.tls import DevTls

    tls = DevTls(settings.data_dir / "tls")
    issuer = env.get("ECO_OIDC_ISSUER") or f"https://127.0.0.1:{settings.portal_port + 1}"
    return {
        "ECO_PORTAL_TLS_CERT": str(tls.server_cert),
        "ECO_PORTAL_TLS_KEY": str(tls.server_key),
        "ECO_PORTAL_URL": settings.portal_url,
        "ECO_OIDC_ISSUER": issuer,
        "ECO_OIDC_CA_FILE": str(tls.ca_file),
        "ECO_OIDC_CLIENT_ID": settings.oidc_client_id,
        "ECO_OIDC_CLIENT_SECRET": env.get("ECO_OIDC_CLIENT_SECRET") or secrets.token_urlsafe(24),
    }


def start_provider(services: Services, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """The demo OpenID provider (node, deploy/oidc) as one of ``services``."""
    if not (PROVIDER / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(PROVIDER)],
                       check=True, capture_output=True)
    provider_env = {
        **env,
        "OIDC_ISSUER": env["ECO_OIDC_ISSUER"],
        "OIDC_RESOURCE": f"{env['ECO_PORTAL_URL']}/",
        "OIDC_PORTAL_CLIENT_ID": env["ECO_OIDC_CLIENT_ID"],
        "OIDC_PORTAL_CLIENT_SECRET": env["ECO_OIDC_CLIENT_SECRET"],
        "OIDC_PORTAL_REDIRECT_URI": f"{env['ECO_PORTAL_URL']}/auth/callback",
        "OIDC_TLS_CERT": env["ECO_PORTAL_TLS_CERT"],
        "OIDC_TLS_KEY": env["ECO_PORTAL_TLS_KEY"],
    }
    services.logs.mkdir(parents=True, exist_ok=True)
    with (services.logs / "oidc.log").open("ab") as handle:
        proc = subprocess.Popen(["node", str(PROVIDER / "provider.mjs")], env=provider_env,
                                stdout=handle, stderr=handle, start_new_session=True)
    services.processes["oidc"] = proc
    return proc


def answers_https(url: str, ca_file: Path) -> bool:
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def keep(settings: Settings, services: Services) -> None:
    """Record the running services and let them go on after the demo command returns."""
    pids = {name: proc.pid for name, proc in services.processes.items()
            if proc.poll() is None}
    state_file(settings).write_text(json.dumps({"pids": pids}, indent=2) + "\n")
    services.processes.clear()


def stop_stack(settings: Settings, env: Mapping[str, str] | None = None,
               timeout: float = 30.0) -> list[str]:
    """Stop what an earlier demo left running (each process's own session), then the broker;
    the names stopped."""
    path = state_file(settings)
    stopped: list[str] = []
    if path.is_file():
        pids: dict[str, int] = json.loads(path.read_text()).get("pids", {})
        for name, pid in pids.items():
            if process_alive(pid):
                try:
                    os.killpg(pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                stopped.append(name)
        deadline = time.monotonic() + timeout
        for pid in pids.values():
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)  # waiting for a signalled process to exit, bounded
            if process_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        path.unlink(missing_ok=True)
    kafka = LocalKafka.from_settings(settings, env)
    if kafka.stop() is not None:
        stopped.append("kafka")
    return stopped


def users(path: Path = PROVIDER / "users.json") -> list[tuple[str, str, str, str]]:
    """(user, password, roles, tenant) of the demo provider's test users."""
    found = json.loads(path.read_text())
    return [(name, u["password"], ", ".join(u["roles"]),
             ", ".join(u["tenant"]) if isinstance(u["tenant"], list) else u["tenant"])
            for name, u in found.items()]
