"""The portal for the tests, as a user meets it: ``eco portal`` over HTTPS (a test CA from
trustme), the demo OpenID provider, and a broker with the worker and the sandbox customs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import trustme

from pipeline.services import answers, free_port
from tests.integration.harness import Stack, wait_for
from tests.integration.oidc import Provider, started_provider, trusting


@dataclass
class PortalStack:
    stack: Stack
    provider: Provider
    url: str
    ca_file: Path

    def client(self, token: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, verify=trusting(self.ca_file), headers=headers,
                            timeout=30, **kwargs)  # type: ignore[arg-type]


def dev_tls(home: Path) -> tuple[Path, Path, Path]:
    """A test CA and one server certificate for 127.0.0.1 and localhost (portal, provider)."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    home.mkdir(parents=True, exist_ok=True)
    ca_file, cert, key = home / "ca.pem", home / "server.pem", home / "server.key"
    ca.cert_pem.write_to_path(str(ca_file))
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    return ca_file, cert, key


@contextmanager
def portal_stack(home: Path, *, worker: bool = True, extra: dict[str, str] | None = None
                 ) -> Iterator[PortalStack]:
    ca_file, cert, key = dev_tls(home / "tls")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    with Stack.started(home) as stack, started_provider(home / "oidc", cert, key, ca_file,
                                                        url) as provider:
        stack.env.update({
            "ECO_PORTAL_PORT": str(port), "ECO_PORTAL_URL": url,
            "ECO_PORTAL_TLS_CERT": str(cert), "ECO_PORTAL_TLS_KEY": str(key),
            "ECO_OIDC_ISSUER": provider.issuer, "ECO_OIDC_CA_FILE": str(ca_file),
            "ECO_OIDC_CLIENT_SECRET": provider.client_secret, "ECO_OIDC_LEEWAY": "1s",
            "ECO_PORTAL_MAX_BODY": str(256 * 1024), **(extra or {}),
        })
        if worker:
            stack.start_sandbox()
            stack.start_worker()
        proc = stack.services.start("portal", "portal", env=stack.env)

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"the portal exited:\n{stack.log('portal')}")
            try:
                return httpx.get(f"{url}/readyz", verify=trusting(ca_file),
                                 timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 90, "the portal to be ready")
        yield PortalStack(stack, provider, url, ca_file)


__all__ = ["PortalStack", "answers", "portal_stack"]
