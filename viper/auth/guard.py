"""The process's authentication state, shared by the main app and the legacy-port apps:
which paths are open, the token check (through the vault's `TokenVerifier`), the dashboard
sessions, the failure counter and the audit log.
"""

from __future__ import annotations

from loguru import logger
from starlette.requests import HTTPConnection

from viper.auth.audit import AuditLog
from viper.auth.failures import FailureLimiter
from viper.auth.principal import Principal, Via
from viper.auth.sessions import COOKIE, Session, SessionStore
from viper.clock import Clock
from viper.config import AuthConfig
from viper.errors import AuthError, TemporaryError
from viper.http import request_id_var
from viper.modules.base import Services
from viper.protocols import TokenVerifier
from viper.store.sqlite import Database

# Always open, whatever `[auth] open_paths` says: a person must be able to load the
# dashboard and sign in without a token.
ALWAYS_OPEN = ("/", "/static/*", "/auth/login")


class Authenticator:
    """Checks credentials and remembers sessions and failures for one process."""

    def __init__(
        self, config: AuthConfig, *, services: Services, clock: Clock, store: Database
    ) -> None:
        self.config = config
        self.enabled = config.enabled
        self._services = services
        self.sessions = SessionStore(clock, config.session_hours)
        self.failures = FailureLimiter(config.max_failures_per_minute, clock)
        self.audit = AuditLog(store, clock)
        self._store = store
        patterns = [*ALWAYS_OPEN, *config.open_paths]
        self._open_exact = frozenset(p for p in patterns if not p.endswith("*"))
        self._open_prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))

    def is_open(self, path: str) -> bool:
        """True when `path` is served without a token."""
        return path in self._open_exact or path.startswith(self._open_prefixes)

    async def verify(self, token: str, via: Via = "bearer") -> Principal:
        """The principal of a valid token; AuthError with the vault's reason otherwise."""
        verifier = self._services.maybe(TokenVerifier)
        if verifier is None:
            raise TemporaryError("the vault module is not running: tokens cannot be checked")
        info = await verifier.verify(token)
        return Principal.of(info, via)

    async def identify(self, conn: HTTPConnection) -> tuple[Principal, Session | None] | None:
        """Who sent this request: by bearer token, else by session cookie; None without
        either. AuthError with a reason when the credential does not hold."""
        header = conn.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthError(
                    "the Authorization header must read 'Bearer <token>'", reason="malformed"
                )
            return await self.verify(token.strip()), None
        session_id = conn.cookies.get(COOKIE)
        if not session_id:
            return None
        session = self.sessions.get(session_id)
        try:
            # The token is checked again: a revoked or expired token ends its sessions.
            principal = await self.verify(session.token, via="session")
        except AuthError:
            self.sessions.close(session_id)
            raise
        return principal, session

    async def record(self, conn: HTTPConnection, principal: Principal | None, status: int) -> None:
        """Write one state-changing call to the audit log (never fails the request)."""
        if not self._store.is_open:  # an app served without its lifespan (tests)
            return
        try:
            await self.audit.record(
                principal,
                method=conn.scope["method"],
                path=conn.url.path,
                status=status,
                request_id=request_id_var.get(),
                client=client_of(conn),
            )
        except Exception as exc:  # the call itself is done; say so and carry on
            logger.warning("could not write the audit log: {}", type(exc).__name__)


def client_of(conn: HTTPConnection) -> str:
    """The client's address, or "unknown"."""
    return conn.client.host if conn.client is not None else "unknown"
