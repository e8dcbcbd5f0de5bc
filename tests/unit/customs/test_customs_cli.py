"""``eco sandbox-customs``: option checking, and serving until interrupted."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK, main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-cert", "absent.pem", "--tls-key", "absent.pem"], "--tls-cert absent.pem"),
        (["--tls-client-ca", "ca.pem"], "--tls-client-ca needs --tls-cert"),
        (["--delay", "-1"], "--delay"),
    ],
)
def test_bad_options_exit_2_saying_which(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox-customs", *argv]) == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


def test_a_bad_scenario_file_exits_2_with_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"applications": {"demo-*": "sunny"}}))
    assert main(["sandbox-customs", "--scenarios", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert str(path) in err and "applications.demo-*" in err


def test_serves_until_interrupted(tmp_path: Path) -> None:
    scenarios = tmp_path / "s.json"
    scenarios.write_text(json.dumps({"default": "silent"}))

    async def run() -> tuple[dict[str, object], int]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from pipeline.cli import entry; entry()",
            "sandbox-customs",
            "--port",
            "0",
            "--scenarios",
            str(scenarios),
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        try:
            url = ""
            while not url:
                line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
                assert line, "the sandbox exited before listening"
                if line.startswith("sandbox customs listening on "):
                    url = line.split()[4]
            async with aiohttp.ClientSession() as client, client.get(url + "/sandbox/stats") as r:
                stats = await r.json()
            process.send_signal(signal.SIGINT)
            return stats, await asyncio.wait_for(process.wait(), 20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    stats, code = asyncio.run(run())
    assert stats["deliveries"] == {} and stats["refused"] == 0
    assert code == EXIT_OK
