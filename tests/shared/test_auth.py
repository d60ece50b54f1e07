"""Bearer tokens: every probe an attacker would try on a protected endpoint is a 401 problem+json."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwe, jwk, jwt
from pydantic import ValidationError

from shared.auth import Principal, ServicePrincipal, TokenVerifier, mint_service_token, mint_token
from shared.errors import Forbidden, Unauthorized
from shared.settings import DEVELOPMENT_SECRET, CommonSettings
from tests.conftest import TEST_SECRET, TokenFactory, common_settings


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "u1",
        "org": "acme",
        "scope": "surveys:read",
        "iss": "cxloop",
        "aud": "cxloop",
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def bad_tokens() -> dict[str, str]:
    signing_key = rsa_key()
    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}.",
        "another secret": jwt.encode(claims(), "another-secret-that-is-long-enough-0123456789", algorithm="HS256"),
        "expired": jwt.encode(claims(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200), TEST_SECRET),
        "wrong aud": jwt.encode(claims(aud="someone-else"), TEST_SECRET),
        "wrong iss": jwt.encode(claims(iss="evil"), TEST_SECRET),
        "missing aud": jwt.encode(claims(aud=None), TEST_SECRET),
        "missing iss": jwt.encode(claims(iss=None), TEST_SECRET),
        "missing sub": jwt.encode(claims(sub=None), TEST_SECRET),
        "missing exp": jwt.encode(claims(exp=None), TEST_SECRET),
        "missing iat": jwt.encode(claims(iat=None), TEST_SECRET),
        "missing org": jwt.encode(claims(org=None), TEST_SECRET),
        "RS256 when HS256 is configured": jwt.encode(claims(), pem(signing_key), algorithm="RS256"),
        "HS512 when HS256 is configured": jwt.encode(claims(), TEST_SECRET, algorithm="HS512"),
        "JWE": jwe.encrypt(
            json.dumps(claims()), TEST_SECRET.encode()[:32], algorithm="dir", encryption="A256GCM"
        ).decode(),
        "garbage": "not-a-token",
        "tampered payload": _tampered(),
        "iat in the future": jwt.encode(claims(iat=int(time.time()) + 3600), TEST_SECRET),
        "exp as a numeric string": jwt.encode(claims(exp=str(int(time.time()) + 600)), TEST_SECRET),
        "iat as a list": jwt.encode(claims(iat=[1]), TEST_SECRET),
        "exp as a boolean": jwt.encode(claims(exp=True), TEST_SECRET),
        "unknown crit header": jwt.encode(claims(), TEST_SECRET, headers={"crit": ["exp-ext"], "exp-ext": 1}),
        "longer than 8 KiB": jwt.encode(claims(pad="p" * 9000), TEST_SECRET),
        "a megabyte": jwt.encode(claims(pad="p" * 1_000_000), TEST_SECRET),
        "units not unit paths": jwt.encode(claims(units=["/"]), TEST_SECRET),
    }


def _tampered() -> str:
    header, _, signature = jwt.encode(claims(), TEST_SECRET).split(".")
    return f"{header}.{b64(claims(org='globex'))}.{signature}"


@pytest.mark.parametrize("probe", list(bad_tokens()))
async def test_bad_token_is_401_problem(probe: str, survey_client: httpx.AsyncClient) -> None:
    token = bad_tokens()[probe]
    response = await survey_client.get("/v1/units", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, probe
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"])
async def test_missing_or_other_scheme_is_401(header: str, survey_client: httpx.AsyncClient) -> None:
    response = await survey_client.get("/v1/units", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_iat_within_leeway_is_accepted(survey_client: httpx.AsyncClient) -> None:
    token = jwt.encode(claims(iat=int(time.time()) + 5), TEST_SECRET)
    response = await survey_client.get("/v1/units", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_valid_token_within_leeway_is_accepted(survey_client: httpx.AsyncClient) -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 5), TEST_SECRET)
    response = await survey_client.get("/v1/units", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_missing_scope_is_403(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    response = await survey_client.get("/v1/units", headers=auth(scopes="contacts:read"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


def test_minted_token_round_trips() -> None:
    settings = common_settings()
    token = mint_token(settings, org="acme", sub="ann", scopes=["metrics:read"], units=["emea"])
    assert TokenVerifier(settings).verify(token) == Principal(
        sub="ann", org="acme", scopes=frozenset({"metrics:read"}), units=("emea",)
    )


class TestServiceTokens:
    """Service tokens name a service, carry no tenant, and are signed with their own key."""

    def test_service_token_round_trips(self) -> None:
        settings = common_settings()
        token = mint_service_token(settings, service="loop_api")
        assert TokenVerifier(settings).identify(token) == ServicePrincipal(
            service="loop_api", scopes=frozenset({"events:write"})
        )
        assert "org" not in jwt.get_unverified_claims(token)

    def test_minting_a_tenant_token_with_events_write_is_refused(self) -> None:
        with pytest.raises(ValueError, match="events:write"):
            mint_token(common_settings(), org="acme", scopes=["events:write"])
        with pytest.raises(ValueError, match="events:write"):
            mint_service_token(common_settings(), service="x", on_behalf_of=principal(), scopes=["events:write"])

    def test_tenant_token_carrying_events_write_is_refused(self) -> None:
        token = jwt.encode(claims(scope="surveys:read events:write"), TEST_SECRET)
        with pytest.raises(Unauthorized, match="events:write"):
            TokenVerifier(common_settings()).verify(token)

    def test_service_claim_signed_with_the_tenant_key_is_refused(self) -> None:
        forged = jwt.encode(claims(org=None, svc="survey_api", scope="events:write"), TEST_SECRET)
        with pytest.raises(Unauthorized):
            TokenVerifier(common_settings()).identify(forged)

    def test_service_token_is_not_a_tenant(self) -> None:
        settings = common_settings()
        with pytest.raises(Forbidden, match="no tenant"):
            TokenVerifier(settings).verify(mint_service_token(settings, service="loop_api"))

    def test_acting_for_a_tenant_keeps_its_org_and_units(self) -> None:
        settings = common_settings()
        token = mint_service_token(settings, service="metrics_api", on_behalf_of=principal(), scopes=["cases:read"])
        assert TokenVerifier(settings).verify(token) == Principal(
            sub="ann", org="acme", scopes=frozenset({"cases:read"}), units=("emea",), service="metrics_api"
        )

    def test_own_service_secret_is_used_and_checked(self) -> None:
        own = common_settings(service_jwt_secret="s" * 40)
        token = mint_service_token(own, service="survey_api")
        assert isinstance(TokenVerifier(own).identify(token), ServicePrincipal)
        with pytest.raises(Unauthorized):  # a service that does not share the secret refuses it
            TokenVerifier(common_settings()).identify(token)
        with pytest.raises(ValidationError, match="differ"):
            common_settings(service_jwt_secret=TEST_SECRET)

    def test_production_needs_a_service_secret(self) -> None:
        with pytest.raises(ValidationError, match="SERVICE_JWT_SECRET"):
            CommonSettings(env="production", jwt_secret="x" * 40)
        assert CommonSettings(env="production", jwt_secret="x" * 40, service_jwt_secret="y" * 40).env == "production"


def principal() -> Principal:
    return Principal(sub="ann", org="acme", scopes=frozenset({"metrics:read"}), units=("emea",))


class TestJwks:
    """RS256 with a trusted key set: the key is picked by `kid` from our own set, never from the token."""

    @pytest.fixture
    def setup(self, tmp_path: Path) -> tuple[CommonSettings, rsa.RSAPrivateKey]:
        key = rsa_key()
        public = jwk.construct(public_pem(key), algorithm="RS256").to_dict()
        (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**public, "kid": "k1", "use": "sig"}]}))
        (tmp_path / "signing.pem").write_text(pem(key))
        settings = common_settings(
            jwt_algorithms=["RS256"],
            jwt_jwks_file=str(tmp_path / "jwks.json"),
            jwt_signing_key_file=str(tmp_path / "signing.pem"),
            jwt_signing_kid="k1",
        )
        return settings, key

    def test_trusted_kid_is_accepted(self, setup: tuple[CommonSettings, rsa.RSAPrivateKey]) -> None:
        settings, _ = setup
        token = mint_token(settings, org="acme", scopes=["metrics:read"])
        assert TokenVerifier(settings).verify(token).org == "acme"

    def test_unknown_kid_is_refused(self, setup: tuple[CommonSettings, rsa.RSAPrivateKey]) -> None:
        settings, key = setup
        token = jwt.encode(claims(), pem(key), algorithm="RS256", headers={"kid": "k2"})
        with pytest.raises(Unauthorized, match="kid"):
            TokenVerifier(settings).verify(token)

    def test_other_key_with_trusted_kid_is_refused(self, setup: tuple[CommonSettings, rsa.RSAPrivateKey]) -> None:
        settings, _ = setup
        token = jwt.encode(claims(), pem(rsa_key()), algorithm="RS256", headers={"kid": "k1"})
        with pytest.raises(Unauthorized):
            TokenVerifier(settings).verify(token)

    def test_hs256_signed_with_the_public_key_is_refused(self, setup: tuple[CommonSettings, rsa.RSAPrivateKey]) -> None:
        settings, key = setup
        signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'})}.{b64(claims())}"
        mac = hmac.new(public_pem(key).encode(), signing_input.encode(), hashlib.sha256).digest()
        forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
        with pytest.raises(Unauthorized, match="algorithm"):
            TokenVerifier(settings).verify(forged)


class TestSettings:
    def test_production_refuses_the_default_secret(self) -> None:
        with pytest.raises(ValidationError, match="production"):
            CommonSettings(env="production", jwt_secret=DEVELOPMENT_SECRET)

    def test_production_accepts_its_own_secret(self) -> None:
        settings = CommonSettings(env="production", jwt_secret="x" * 40, service_jwt_secret="y" * 40)
        assert settings.env == "production"

    def test_short_secret_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="32 bytes"):
            CommonSettings(jwt_secret="short")

    def test_none_algorithm_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="none"):
            CommonSettings(jwt_algorithms=["none"])

    def test_environment_names(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from services.survey_api.settings import SurveySettings

        monkeypatch.setenv("CXLOOP_JWT_ISSUER", "issuer-x")
        monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql://db/survey")
        monkeypatch.setenv("METRICS_API_URL", "http://metrics:8002")
        settings = SurveySettings()
        assert (settings.jwt_issuer, settings.database_url) == ("issuer-x", "postgresql://db/survey")
        assert settings.metrics_api_url == "http://metrics:8002"
