"""Serving the portal: uvicorn over HTTPS only, TLS 1.2 or later, with the certificate files
of the settings."""

from __future__ import annotations

import ssl

import uvicorn

from connectors.portal.app import create_app, portal_from_settings
from pipeline.errors import InvalidInput, Problem
from pipeline.settings import Settings


def server_config(settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration; InvalidInput when the TLS files are not set or unreadable
    (the portal never serves plain HTTP)."""
    cert, key = settings.portal_tls_cert, settings.portal_tls_key
    if cert is None or key is None:
        raise InvalidInput([Problem("ECO_PORTAL_TLS_CERT", "the portal serves HTTPS only: set "
                                    "ECO_PORTAL_TLS_CERT and ECO_PORTAL_TLS_KEY")])
    for name, path in (("ECO_PORTAL_TLS_CERT", cert), ("ECO_PORTAL_TLS_KEY", key)):
        if not path.is_file():
            raise InvalidInput([Problem(name, f"{path} is not a readable file")])
    if not settings.oidc_issuer:
        raise InvalidInput([Problem("ECO_OIDC_ISSUER", "the portal needs its OpenID provider")])
    app = create_app(portal_from_settings(settings))
    config = uvicorn.Config(app, host=settings.portal_host, port=settings.portal_port,
                            ssl_certfile=str(cert), ssl_keyfile=str(key),
                            log_level=settings.log_level, access_log=False,
                            timeout_graceful_shutdown=5, proxy_headers=False)
    config.load()
    assert config.ssl is not None
    config.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
    return config


def serve(settings: Settings) -> None:
    uvicorn.Server(server_config(settings)).run()
