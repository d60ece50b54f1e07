"""Bearer JWT verification and minting: the only module that imports python-jose (DESIGN §6).

Two kinds of token. A *tenant* token (`org`, `scope`, optional `units`) is what users and partner systems
send; it is signed with the tenant key(s) of the settings and can never carry `events:write`. A *service*
token (`svc`: the service it names, `scope`: `events:write`, no `org`) is what the services send each other
for the events between them; it is always HS256, signed with the service secret, which tenant keys never
verify. A service calling another service's tenant API on behalf of a caller (metrics_api asking loop_api for
a scorecard's case figures) sends a service token that also names that caller's `org` and `units`: it acts
as that tenant, with tenant scopes only.

Where a tenant token keeps its org, scopes and units is configurable (`CXLOOP_JWT_ORG_CLAIM`,
`CXLOOP_JWT_SCOPE_CLAIM`, `CXLOOP_JWT_UNITS_CLAIM`), so an identity provider's own claims can be used as they
are; see `claim_value` for how a claim name is looked up. Service tokens always use cxloop's own names.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from jose import jwk, jwt
from jose.exceptions import ExpiredSignatureError, JOSEError, JWTClaimsError

from shared.errors import Forbidden, Unauthorized
from shared.schemas.common import UNIT_PATH_PATTERN
from shared.settings import CommonSettings

TENANT_SCOPES = (
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
)
SCOPES = TENANT_SCOPES  # every scope a tenant token may carry (`cxloop token`'s default)
SERVICE_SCOPES = ("events:write",)  # service tokens only: the events between services
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
NUMERIC_CLAIMS = ("exp", "iat", "nbf")
# A verified token is trusted again without its signature check for this long (never past its exp): a key
# removed from the trusted set stops working within this time.
VERIFIED_CACHE_SECONDS = 60.0
VERIFIED_CACHE_SIZE = 4096
MAX_TOKEN_CHARS = 8 * 1024  # a longer token is refused before anything decodes it
SERVICE_ALGORITHM = "HS256"
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")
UNIT_PATH = re.compile(UNIT_PATH_PATTERN)


@dataclass(frozen=True)
class Principal:
    """Who is calling: subject, tenant, scopes, and (when restricted) the unit subtrees they may see."""

    sub: str
    org: str
    scopes: frozenset[str]
    units: tuple[str, ...] | None = None
    service: str | None = None  # the service acting for this tenant (a delegated service token), if any

    def has_scopes(self, *needed: str) -> bool:
        """Whether every scope in `needed` was granted."""
        return all(s in self.scopes for s in needed)

    def sees_unit(self, path: str) -> bool:
        """Whether a unit path lies inside one of the caller's unit subtrees (always, when unrestricted)."""
        if self.units is None:
            return True
        return any(path == u or path.startswith(u + "/") for u in self.units)


@dataclass(frozen=True)
class ServicePrincipal:
    """A service calling with a service token: it names the service and belongs to no tenant."""

    service: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class ClaimNames:
    """Where a tenant token keeps the tenant, the scopes (one or more claims, merged) and the units."""

    org: str = "org"
    scope: tuple[str, ...] = ("scope",)
    units: str = "units"

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> ClaimNames:
        """The names the settings map (`CXLOOP_JWT_*_CLAIM`); the scope setting may list several, comma-separated."""
        scope = tuple(name.strip() for name in settings.jwt_scope_claim.split(",") if name.strip())
        org, units = settings.jwt_org_claim.strip(), settings.jwt_units_claim.strip()
        return cls(org=org, scope=scope or ("scope",), units=units)


OWN_CLAIMS = ClaimNames()  # the names cxloop mints (tenant tokens of `cxloop token`, and every service token)
_ABSENT = object()


def claim_value(claims: Mapping[str, Any], name: str) -> Any:
    """The claim called `name`, or None. The whole name is tried first (`https://example.com/org` is one claim);
    only when no claim has it is it read as a dotted path, at each level the longest leading part that names an
    object first (`realm_access.roles` → `claims["realm_access"]["roles"]`)."""
    found = _lookup(claims, name)
    return None if found is _ABSENT else found


def _lookup(claims: Mapping[str, Any], name: str) -> Any:
    if name in claims:
        return claims[name]
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        inner = claims.get(".".join(parts[:cut]))
        if isinstance(inner, Mapping):
            found = _lookup(inner, ".".join(parts[cut:]))
            if found is not _ABSENT:
                return found
    return _ABSENT


@dataclass
class _KeySet:
    """The trusted verification keys of RS/ES deployments, by `kid`, refreshed from a file or URL."""

    settings: CommonSettings
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    loaded_at: float = 0.0

    def key_for(self, kid: str) -> dict[str, Any] | None:
        if kid not in self.keys or time.monotonic() - self.loaded_at >= self.settings.jwt_jwks_cache_seconds:
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
        self._service_secret = settings.service_secret()
        # Only RS/ES deployments read keys (a JWKS file or URL, refreshed now and then): blocking I/O that must
        # stay off the event loop. HMAC-only deployments verify in a few microseconds of CPU, inline.
        self.reads_keys = bool(settings.jwt_jwks_file or settings.jwt_jwks_url)
        self.claim_names = ClaimNames.from_settings(settings)
        # Tokens verified lately (a client sends the same one for hours): token → (caller, exp, verified at).
        self._verified: OrderedDict[str, tuple[Principal | ServicePrincipal, float, float]] = OrderedDict()

    def recall(self, token: str) -> Principal | ServicePrincipal | None:
        """The caller of a token verified less than VERIFIED_CACHE_SECONDS ago and not expired since; else None."""
        found = self._verified.get(token)
        if found is None:
            return None
        caller, expires, verified_at = found
        now = time.time()
        if now > expires + self.settings.jwt_leeway_seconds or now - verified_at > VERIFIED_CACHE_SECONDS:
            self._verified.pop(token, None)
            return None
        return caller

    def remember(self, token: str, caller: Principal | ServicePrincipal) -> None:
        """Keep a verified token's caller for `recall` (bounded, oldest forgotten first)."""
        expires = jwt.get_unverified_claims(token)["exp"]
        self._verified[token] = (caller, float(expires), time.time())
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)

    def verify(self, token: str) -> Principal:
        """A tenant's (or a service acting for one) token → the caller; `Unauthorized`/`Forbidden` otherwise."""
        caller = self.identify(token)
        if isinstance(caller, ServicePrincipal):
            raise Forbidden("A service token carries no tenant; this endpoint needs a tenant's token")
        return caller

    def identify(self, token: str) -> Principal | ServicePrincipal:
        """Check size, signature, algorithm and required claims; the caller, of either kind, or `Unauthorized`."""
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized(f"Token is longer than {MAX_TOKEN_CHARS} characters")
        if token.count(".") != 2:
            raise Unauthorized("Malformed token (encrypted JWE tokens are not accepted)")
        header, unverified = _unverified_parts(token)
        algorithm = header.get("alg")
        is_service = "svc" in unverified
        accepted = [SERVICE_ALGORITHM] if is_service else self.algorithms
        if not isinstance(algorithm, str) or algorithm not in accepted:
            raise Unauthorized(f"Token algorithm {algorithm!r} is not accepted")
        key = self._service_secret if is_service else self._key(algorithm, header)
        claims = self._decode(token, key, algorithm)
        if claims["iat"] > time.time() + self.settings.jwt_leeway_seconds:
            raise Unauthorized("Token claims rejected: issued in the future (iat)")
        return _service_from_claims(claims) if is_service else _tenant_from_claims(claims, self.claim_names)

    def _decode(self, token: str, key: str | dict[str, Any], algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
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
        except (JOSEError, TypeError, ValueError, OverflowError) as exc:
            raise Unauthorized("Token signature or claims are invalid") from exc
        return claims

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


def _unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims before verification: only to pick the key, and to refuse what we never accept."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.get_unverified_claims(token)
    except (JOSEError, TypeError, ValueError) as exc:
        raise Unauthorized("Malformed token header or claims") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise Unauthorized("Malformed token header or claims")
    if "crit" in header:  # RFC 7515 §4.1.11: we understand no extension, so a critical one must be refused
        raise Unauthorized("Token has critical header parameters this service does not understand (crit)")
    for name in NUMERIC_CLAIMS:
        value = claims.get(name)
        if name in claims and not _is_numeric_date(value):
            raise Unauthorized(f"Token claims rejected: {name} must be a number (NumericDate)")
    return header, claims


def _is_numeric_date(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and abs(value) < 2**53


def _tenant_from_claims(claims: dict[str, Any], names: ClaimNames = OWN_CLAIMS) -> Principal:
    org = claim_value(claims, names.org)
    if not isinstance(org, str) or not org:
        raise Unauthorized(f"Token has no {names.org} claim (the tenant)")
    scopes = frozenset(scope for name in names.scope for scope in _scopes(claims, name))
    if scopes & set(SERVICE_SCOPES):
        raise Unauthorized(f"A tenant's token may not carry {' '.join(sorted(scopes & set(SERVICE_SCOPES)))}")
    units = _units(claim_value(claims, names.units))
    return Principal(sub=str(claims["sub"]), org=org, scopes=scopes, units=units)


def _scopes(claims: dict[str, Any], name: str) -> list[str]:
    """The scopes one claim grants: a space-separated string or an array of strings (absent: none)."""
    value = claim_value(claims, name)
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item for item in value if item]
    raise Unauthorized(f"Token {name} claim must be a space-separated string or an array of strings")


def _units(units: Any) -> tuple[str, ...] | None:
    """The `units` claim, each a valid unit path (as in request bodies): an empty or root path grants nothing."""
    if units is None:
        return None
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
        raise Unauthorized("Token units claim must be a list of unit paths")
    invalid = [u for u in units if len(u) > 255 or not UNIT_PATH.fullmatch(u)]
    if invalid:
        raise Unauthorized(f"Token units claim: {invalid[0][:80]!r} is not a unit path (like emea/de/berlin-01)")
    return tuple(units)


def _service_from_claims(claims: dict[str, Any]) -> Principal | ServicePrincipal:
    service, scope = claims.get("svc"), claims.get("scope", "")
    if not isinstance(service, str) or not SERVICE_NAME.fullmatch(service):
        raise Unauthorized("Service token has no valid svc claim")
    if not isinstance(scope, str):
        raise Unauthorized("Token scope claim must be a space-separated string")
    if "org" not in claims:
        return ServicePrincipal(service=service, scopes=frozenset(scope.split()) & set(SERVICE_SCOPES))
    delegated = _tenant_from_claims(claims)  # acting for a tenant: a tenant's scopes, never events:write
    return dataclasses.replace(delegated, service=service)


def _claims(settings: CommonSettings, *, sub: str, scopes: Iterable[str], ttl_seconds: int) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": sub,
        "scope": " ".join(scopes),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }


def _check_tenant_grant(scopes: list[str], units: list[str] | None) -> None:
    if set(scopes) & set(SERVICE_SCOPES):
        raise ValueError(f"a tenant's token may not carry {' '.join(SERVICE_SCOPES)}; mint a service token")
    bad = [u for u in units or [] if not UNIT_PATH.fullmatch(u)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a unit path (like emea/de/berlin-01)")


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
    """Sign a tenant's token (development, tests, `cxloop token`); never with `events:write` (ValueError)."""
    scope_list, unit_list = list(scopes), list(units) if units is not None else None
    _check_tenant_grant(scope_list, unit_list)
    claims = _claims(settings, sub=sub, scopes=scope_list, ttl_seconds=ttl_seconds) | {"org": org}
    if unit_list is not None:
        claims["units"] = unit_list
    claims.update(extra_claims or {})
    algorithm = settings.jwt_algorithms[0]
    if algorithm.startswith("HS"):
        return jwt.encode(claims, settings.jwt_secret, algorithm=algorithm)
    if not settings.jwt_signing_key_file:
        raise RuntimeError("Minting RS/ES tokens needs CXLOOP_JWT_SIGNING_KEY_FILE and CXLOOP_JWT_SIGNING_KID")
    key = jwk.construct(Path(settings.jwt_signing_key_file).read_text(), algorithm=algorithm)
    headers = {"kid": settings.jwt_signing_kid} if settings.jwt_signing_kid else None
    return jwt.encode(claims, key.to_dict(), algorithm=algorithm, headers=headers)


def mint_service_token(
    settings: CommonSettings,
    *,
    service: str,
    ttl_seconds: int = 300,
    on_behalf_of: Principal | None = None,
    scopes: Iterable[str] | None = None,
) -> str:
    """Sign a service token with the service secret: `events:write`, or a tenant's scopes `on_behalf_of` one."""
    if not SERVICE_NAME.fullmatch(service):
        raise ValueError(f"{service!r} is not a service name (lowercase letters, digits, _ . -)")
    if on_behalf_of is None:
        scope_list = list(scopes) if scopes is not None else list(SERVICE_SCOPES)
        if not set(scope_list) <= set(SERVICE_SCOPES):
            raise ValueError(f"a service token carries only {' '.join(SERVICE_SCOPES)}")
        claims = _claims(settings, sub=f"service:{service}", scopes=scope_list, ttl_seconds=ttl_seconds)
    else:
        scope_list = list(scopes) if scopes is not None else sorted(on_behalf_of.scopes)
        units = list(on_behalf_of.units) if on_behalf_of.units is not None else None
        _check_tenant_grant(scope_list, units)
        claims = _claims(settings, sub=on_behalf_of.sub, scopes=scope_list, ttl_seconds=ttl_seconds)
        claims |= {"org": on_behalf_of.org} | ({"units": units} if units is not None else {})
    claims["svc"] = service
    return jwt.encode(claims, settings.service_secret(), algorithm=SERVICE_ALGORITHM)


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if len(header) > MAX_TOKEN_CHARS + 16:
        raise Unauthorized(f"Token is longer than {MAX_TOKEN_CHARS} characters")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token", headers={"WWW-Authenticate": 'Bearer realm="cxloop"'})
    return token.strip()


async def _identify(request: Request) -> Principal | ServicePrincipal:
    verifier: TokenVerifier = request.app.state.verifier
    token = _bearer_token(request)
    caller = verifier.recall(token)
    if caller is not None:
        return caller
    caller = await run_in_threadpool(verifier.identify, token) if verifier.reads_keys else verifier.identify(token)
    verifier.remember(token, caller)
    return caller


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified tenant caller of this request (403 for a service token)."""
    caller = await _identify(request)
    if isinstance(caller, ServicePrincipal):
        raise Forbidden("A service token carries no tenant; this endpoint needs a tenant's token")
    return caller


async def current_service(request: Request) -> ServicePrincipal:
    """FastAPI dependency: the verified service calling an internal endpoint (403 for any tenant's token)."""
    caller = await _identify(request)
    if not isinstance(caller, ServicePrincipal):
        raise Forbidden("This endpoint is for service tokens only (`cxloop token --service NAME`)")
    if "events:write" not in caller.scopes:
        raise Forbidden("Token lacks scope: events:write")
    return caller


def require_scopes(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that verifies the token and demands every one of `scopes`."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        missing = [s for s in scopes if s not in principal.scopes]
        if missing:
            raise Forbidden(f"Token lacks scope: {' '.join(missing)}")
        return principal

    dependency.__name__ = "require_" + "_".join(s.replace(":", "_") for s in scopes)
    return dependency
