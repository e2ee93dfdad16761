"""Dashboard sessions: a random id in an HttpOnly cookie, the rest in memory on the server.

A session remembers the token it was opened with, so every request re-checks that token:
revoking (or the expiry of) the token ends its sessions at once. A restart ends them all.
Each session carries a CSRF token that state-changing requests must echo in `X-CSRF-Token`.
"""

from __future__ import annotations

import hmac
import secrets

from viper.auth.principal import Principal
from viper.clock import Clock
from viper.errors import AuthError

COOKIE = "viper_session"
CSRF_HEADER = "x-csrf-token"
MAX_SESSIONS = 10_000
HOUR_MS = 3_600_000


class Session:
    """One signed-in browser; the token it holds never appears in a repr."""

    __slots__ = ("csrf", "expires_ms", "id", "principal", "token")

    def __init__(
        self, id: str, token: str, principal: Principal, csrf: str, expires_ms: int
    ) -> None:
        self.id = id
        self.token = token
        self.principal = principal
        self.csrf = csrf
        self.expires_ms = expires_ms

    def csrf_matches(self, presented: str | None) -> bool:
        """True when `presented` is this session's CSRF token (compared in constant time)."""
        return presented is not None and hmac.compare_digest(
            presented.encode("latin-1"), self.csrf.encode("ascii")
        )

    def __repr__(self) -> str:
        return f"Session(token_id={self.principal.token_id!r}, expires_ms={self.expires_ms})"


class SessionStore:
    """Sessions by id, each ending `hours` after sign-in."""

    def __init__(self, clock: Clock, hours: float, max_sessions: int = MAX_SESSIONS) -> None:
        self._clock = clock
        self.lifetime_ms = round(hours * HOUR_MS)
        self._max = max_sessions
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, token: str, principal: Principal) -> Session:
        """A new session for a verified token."""
        self._prune()
        session = Session(
            id=secrets.token_urlsafe(32),
            token=token,
            principal=principal,
            csrf=secrets.token_urlsafe(32),
            expires_ms=self._clock.now_ms() + self.lifetime_ms,
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session:
        """The live session with this id; AuthError (reason unknown or expired) otherwise."""
        session = self._sessions.get(session_id)
        if session is None:
            raise AuthError("no such session: sign in again", reason="unknown")
        if self._clock.now_ms() >= session.expires_ms:
            self._sessions.pop(session_id, None)
            raise AuthError("the session expired: sign in again", reason="expired")
        return session

    def close(self, session_id: str) -> None:
        """End one session (again is harmless)."""
        self._sessions.pop(session_id, None)

    def close_token(self, token_id: str) -> int:
        """End every session of a token; returns how many there were."""
        ended = [s.id for s in self._sessions.values() if s.principal.token_id == token_id]
        for session_id in ended:
            del self._sessions[session_id]
        return len(ended)

    def _prune(self) -> None:
        """Drop expired sessions; past `max_sessions`, the oldest go first."""
        now = self._clock.now_ms()
        for session in [s for s in self._sessions.values() if now >= s.expires_ms]:
            del self._sessions[session.id]
        while len(self._sessions) >= self._max:
            del self._sessions[next(iter(self._sessions))]
