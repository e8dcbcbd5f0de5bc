"""Web sessions of signed-in people: an opaque random id in a Secure, HttpOnly, SameSite=Lax
cookie, the session itself (caller, access token, CSRF token) kept in the portal's memory.

A session ends with its access token; signing in again starts a new one. CSRF: every form
carries the session's token, compared in constant time."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

from connectors.portal.caller import Caller

COOKIE = "__Host-eco_session"
SIGNIN_COOKIE = "__Host-eco_signin"


@dataclass(frozen=True)
class Session:
    caller: Caller
    access_token: str
    csrf: str
    expires: float


@dataclass(frozen=True)
class SignIn:
    """An authorization request under way (PKCE verifier, state, nonce)."""

    state: str
    verifier: str
    nonce: str
    expires: float


@dataclass
class SessionStore:
    sessions: dict[str, Session] = field(default_factory=dict)
    sign_ins: dict[str, SignIn] = field(default_factory=dict)

    def open(self, caller: Caller, token: str, expires: float) -> str:
        self._forget_expired()
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = Session(caller, token, secrets.token_urlsafe(32), expires)
        return sid

    def get(self, sid: str | None) -> Session | None:
        session = self.sessions.get(sid or "")
        if session is None or session.expires < time.time():
            return None
        return session

    def close(self, sid: str | None) -> None:
        self.sessions.pop(sid or "", None)

    def begin_sign_in(self) -> tuple[str, SignIn]:
        self._forget_expired()
        key = secrets.token_urlsafe(24)
        sign_in = SignIn(secrets.token_urlsafe(24), secrets.token_urlsafe(48),
                         secrets.token_urlsafe(24), time.time() + 600)
        self.sign_ins[key] = sign_in
        return key, sign_in

    def finish_sign_in(self, key: str | None, state: str) -> SignIn | None:
        sign_in = self.sign_ins.pop(key or "", None)
        if sign_in is None or sign_in.expires < time.time():
            return None
        return sign_in if hmac.compare_digest(sign_in.state, state) else None

    def _forget_expired(self) -> None:
        now = time.time()
        for sid in [s for s, v in self.sessions.items() if v.expires < now]:
            del self.sessions[sid]
        for key in [k for k, v in self.sign_ins.items() if v.expires < now]:
            del self.sign_ins[key]


def csrf_ok(session: Session, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session.csrf, str(given))
