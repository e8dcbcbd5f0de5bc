"""``eco sandbox-customs``: run the simulated customs of VN, TH and MY until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from connectors.customs.sandbox import SANDBOX_COUNTRIES, SandboxCustoms
from connectors.customs.scenarios import DEMO_SCENARIOS, ScenarioBook, load_scenarios
from connectors.customs.signatures import generate_customs_keys, load_private_key
from connectors.customs.tls import generate_dev_tls
from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK
from pipeline.errors import InvalidInput
from pipeline.settings import Settings


def register(subparsers: Any) -> None:
    """Add the ``sandbox-customs`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sandbox-customs",
        help="simulated importing customs of VN, TH and MY (demo and tests)",
        description=(
            "Serve POST /customs/{VN,TH,MY}/certificates and /clarifications, and post decisions "
            "to CALLBACK/v1/customs/{country}/responses as the scenarios say. The built-in demo "
            "scenarios apply unless the scenario file overrides them; the default is 'given'."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default ECO_SANDBOX_PORT, 8443)")
    parser.add_argument(
        "--callback",
        metavar="URL",
        help="where to post decisions when a delivery has no X-Eco-Callback "
        "(default ECO_CALLBACK_URL)",
    )
    parser.add_argument(
        "--scenarios", metavar="FILE", type=Path, help="JSON scenario file (see docs/customs.md)"
    )
    parser.add_argument(
        "--delay", metavar="S", type=float, default=0.5, help="seconds before each decision"
    )
    parser.add_argument(
        "--callback-attempts", metavar="N", type=int, default=12,
        help="tries of each callback before giving up (default 12, about a minute)")
    parser.add_argument("--tls-cert", metavar="F", type=Path, help="PEM server certificate")
    parser.add_argument("--tls-key", metavar="F", type=Path, help="PEM private key")
    parser.add_argument(
        "--tls-client-ca",
        metavar="F",
        type=Path,
        help="require client certificates signed by this CA (mutual TLS)",
    )
    parser.add_argument(
        "--trust-dir",
        metavar="DIR",
        type=Path,
        help="issuing authorities whose signatures are accepted; a certificate that does not "
        "verify gets a technical rejection (default ECO_TRUST_DIR)",
    )
    parser.add_argument(
        "--no-signature-check", action="store_true", help="acknowledge without verifying"
    )
    parser.add_argument(
        "--customs-keys",
        metavar="DIR",
        type=Path,
        help="where the customs' response-signing keys are kept (keys/<C>.key, and the public "
        "trust/<C>.pem for the pipeline); created if missing (default ECO_DATA_DIR/customs)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate the options, then serve until SIGINT or SIGTERM."""
    try:
        settings = Settings.from_env()
        sandbox = _sandbox(args, settings)
    except (ValueError, OSError, InvalidInput) as exc:
        print(f"eco sandbox-customs: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        asyncio.run(_serve(sandbox))
    except OSError as exc:
        print(f"eco sandbox-customs: cannot serve on {args.host}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _sandbox(args: argparse.Namespace, settings: Settings) -> SandboxCustoms:
    """The configured sandbox; ValueError or InvalidInput name the faulty option."""
    if args.delay < 0:
        raise ValueError(f"--delay {args.delay}: must be zero or more seconds")
    if args.callback_attempts < 1:
        raise ValueError(f"--callback-attempts {args.callback_attempts}: must be 1 or more")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    if args.tls_client_ca is not None and args.tls_cert is None:
        raise ValueError("--tls-client-ca needs --tls-cert and --tls-key")
    for option, path in (
        ("--tls-cert", args.tls_cert),
        ("--tls-key", args.tls_key),
        ("--tls-client-ca", args.tls_client_ca),
    ):
        if path is not None and not path.is_file():
            raise ValueError(f"{option} {path}: no such file")
    certfile, keyfile, client_ca = args.tls_cert, args.tls_key, args.tls_client_ca
    if certfile is None and settings.sandbox_url.startswith("https:"):
        # ECO_SANDBOX_URL says https: serve the development TLS and require client certificates.
        dev = generate_dev_tls(settings.data_dir / "tls")
        certfile, keyfile, client_ca = dev.server_cert, dev.server_key, dev.ca_file
    keys_dir, _ = generate_customs_keys(
        args.customs_keys or settings.data_dir / "customs", SANDBOX_COUNTRIES
    )
    signing_keys = {c: load_private_key(keys_dir, c) for c in SANDBOX_COUNTRIES}
    trust_dir = None if args.no_signature_check else (
        args.trust_dir or settings.trust
    )
    book: ScenarioBook = DEMO_SCENARIOS
    if args.scenarios is not None:
        book = DEMO_SCENARIOS.overridden_by(load_scenarios(args.scenarios))
    return SandboxCustoms(
        args.host,
        settings.sandbox_port if args.port is None else args.port,
        callback_url=args.callback or settings.callback_url,
        scenarios=book,
        delay=args.delay,
        certfile=certfile,
        keyfile=keyfile,
        client_ca=client_ca,
        trust_dir=trust_dir,
        signing_keys=signing_keys,
        callback_attempts=args.callback_attempts,
    )


async def _serve(sandbox: SandboxCustoms) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await sandbox.start()
    try:
        print(f"sandbox customs listening on {sandbox.url} (VN, TH, MY)", flush=True)
        await stopping.wait()
    finally:
        await sandbox.stop()
