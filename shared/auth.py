"""Bearer JWT verification and minting: the only module that imports python-jose (DESIGN §6)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from jose import jwk, jwt
from jose.exceptions import ExpiredSignatureError, JOSEError, JWTClaimsError

from shared.errors import Forbidden, Unauthorized
from shared.settings import CommonSettings

SCOPES = (
    "surveys:read",
    "surveys:write",
    "contacts:read",
    "contacts:write",
    "responses:read",
    "responses:write",
    "distributions:write",
    "metrics:read",
    "cases:read",
    "cases:write",
    "plans:read",
    "plans:write",
    "admin",
    "events:write",
)
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
JWKS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Principal:
    """Who is calling: subject, tenant, scopes, and (when restricted) the unit subtrees they may see."""

    sub: str
    org: str
    scopes: frozenset[str]
    units: tuple[str, ...] | None = None

    def has_scopes(self, *needed: str) -> bool:
        """Whether every scope in `needed` was granted."""
        return all(s in self.scopes for s in needed)

    def sees_unit(self, path: str) -> bool:
        """Whether a unit path lies inside one of the caller's unit subtrees (always, when unrestricted)."""
        if self.units is None:
            return True
        return any(path == u or path.startswith(u + "/") for u in self.units)


@dataclass
class _KeySet:
    """The trusted verification keys of RS/ES deployments, by `kid`, refreshed from a file or URL."""

    settings: CommonSettings
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    loaded_at: float = 0.0

    def key_for(self, kid: str) -> dict[str, Any] | None:
        if kid not in self.keys or time.monotonic() - self.loaded_at > JWKS_CACHE_SECONDS:
            self._load()
        return self.keys.get(kid)

    def _load(self) -> None:
        if self.settings.jwt_jwks_file:
            document = json.loads(Path(self.settings.jwt_jwks_file).read_text())
        elif self.settings.jwt_jwks_url:
            document = httpx.get(self.settings.jwt_jwks_url, timeout=5.0).raise_for_status().json()
        else:
            document = {"keys": []}
        self.keys = {k["kid"]: k for k in document.get("keys", []) if isinstance(k, dict) and "kid" in k}
        self.loaded_at = time.monotonic()


class TokenVerifier:
    """Verifies bearer tokens against one service's settings; holds the JWKS cache."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self.algorithms = list(settings.jwt_algorithms)
        self._keyset = _KeySet(settings)
        # Only RS/ES deployments read keys (a JWKS file or URL, refreshed now and then): blocking I/O that must
        # stay off the event loop. HMAC-only deployments verify in a few microseconds of CPU, inline.
        self.reads_keys = bool(settings.jwt_jwks_file or settings.jwt_jwks_url)

    def verify(self, token: str) -> Principal:
        """Check signature, algorithm and required claims; return the caller or raise `Unauthorized`."""
        if token.count(".") != 2:
            raise Unauthorized("Malformed token (encrypted JWE tokens are not accepted)")
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as exc:
            raise Unauthorized("Malformed token header") from exc
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise Unauthorized(f"Token algorithm {algorithm!r} is not accepted")
        key = self._key(algorithm, header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={
                    **{f"require_{claim}": True for claim in REQUIRED_CLAIMS},
                    "leeway": self.settings.jwt_leeway_seconds,
                },
            )
        except ExpiredSignatureError as exc:
            raise Unauthorized("Token has expired") from exc
        except JWTClaimsError as exc:
            raise Unauthorized(f"Token claims rejected: {exc}") from exc
        except JOSEError as exc:
            raise Unauthorized("Token signature or claims are invalid") from exc
        return _principal_from_claims(claims)

    def _key(self, algorithm: str, header: dict[str, Any]) -> str | dict[str, Any]:
        if algorithm.startswith("HS"):
            return self.settings.jwt_secret
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthorized("Token has no key id (kid)")
        key = self._keyset.key_for(kid)
        if key is None:
            raise Unauthorized("Token key id (kid) is not trusted")
        return key


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    org, scope, units = claims.get("org"), claims.get("scope", ""), claims.get("units")
    if not isinstance(org, str) or not org:
        raise Unauthorized("Token has no org claim")
    if not isinstance(scope, str):
        raise Unauthorized("Token scope claim must be a space-separated string")
    if units is not None and not (isinstance(units, list) and all(isinstance(u, str) for u in units)):
        raise Unauthorized("Token units claim must be a list of unit paths")
    return Principal(
        sub=str(claims["sub"]),
        org=org,
        scopes=frozenset(scope.split()),
        units=tuple(u.strip("/") for u in units) if units is not None else None,
    )


def mint_token(
    settings: CommonSettings,
    *,
    org: str,
    scopes: Iterable[str],
    sub: str = "dev",
    units: Iterable[str] | None = None,
    ttl_seconds: int = 3600,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """Sign a token for development and for service-to-service calls."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "org": org,
        "scope": " ".join(scopes),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if units is not None:
        claims["units"] = list(units)
    claims.update(extra_claims or {})
    algorithm = settings.jwt_algorithms[0]
    if algorithm.startswith("HS"):
        return jwt.encode(claims, settings.jwt_secret, algorithm=algorithm)
    if not settings.jwt_signing_key_file:
        raise RuntimeError("Minting RS/ES tokens needs CXLOOP_JWT_SIGNING_KEY_FILE and CXLOOP_JWT_SIGNING_KID")
    key = jwk.construct(Path(settings.jwt_signing_key_file).read_text(), algorithm=algorithm)
    headers = {"kid": settings.jwt_signing_kid} if settings.jwt_signing_kid else None
    return jwt.encode(claims, key.to_dict(), algorithm=algorithm, headers=headers)


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token", headers={"WWW-Authenticate": 'Bearer realm="cxloop"'})
    return token.strip()


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller of this request (in a worker thread only if keys may be read)."""
    verifier: TokenVerifier = request.app.state.verifier
    token = _bearer_token(request)
    if verifier.reads_keys:
        return await run_in_threadpool(verifier.verify, token)
    return verifier.verify(token)


def require_scopes(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that verifies the token and demands every one of `scopes`."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        missing = [s for s in scopes if s not in principal.scopes]
        if missing:
            raise Forbidden(f"Token lacks scope: {' '.join(missing)}")
        return principal

    dependency.__name__ = "require_" + "_".join(s.replace(":", "_") for s in scopes)
    return dependency
