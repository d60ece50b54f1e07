"""Tokens from an identity provider: its own claim names mapped by settings, RS256 keys by `kid`, key rotation."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jose import jwk, jwt

from shared.auth import Principal, ServicePrincipal, TokenVerifier, claim_value, mint_service_token
from shared.errors import Unauthorized
from shared.settings import CommonSettings
from tests.conftest import common_settings

ISSUER = "https://idp.example.com/"
AUDIENCE = "https://api.cxloop.example.com"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    encoding, private = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(encoding, private, serialization.NoEncryption()).decode()


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {**jwk.construct(pem.decode(), algorithm="RS256").to_dict(), "kid": kid, "use": "sig"}


class Provider:
    """A stand-in identity provider: two signing keys, a JWKS file it publishes, tokens shaped as told."""

    def __init__(self, folder: Path) -> None:
        self.keys = {"k1": rsa_key(), "k2": rsa_key()}
        self.jwks = folder / "jwks.json"
        self.publish("k1", "k2")

    def publish(self, *kids: str) -> None:
        """Write the key set with these keys only."""
        self.jwks.write_text(json.dumps({"keys": [public_jwk(self.keys[k], k) for k in kids]}))

    def token(self, kid: str = "k1", **claims: Any) -> str:
        """An RS256 token signed with `kid`'s key: the registered claims plus `claims`."""
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "auth0|5f1", "iat": now, "exp": now + 600, **claims}
        return jwt.encode(body, private_pem(self.keys[kid]), algorithm="RS256", headers={"kid": kid})

    def settings(self, **mapping: Any) -> CommonSettings:
        """Settings that trust this provider (RS256, its JWKS file) with the claim mapping given."""
        trust = {"jwt_algorithms": ["RS256"], "jwt_jwks_file": str(self.jwks), "jwt_issuer": ISSUER}
        return common_settings(**{**trust, "jwt_audience": AUDIENCE, **mapping})


@pytest.fixture
def provider(tmp_path: Path) -> Provider:
    return Provider(tmp_path)


AUTH0 = {"jwt_org_claim": "https://example.com/org", "jwt_scope_claim": "permissions"}
KEYCLOAK = {"jwt_org_claim": "tenant", "jwt_scope_claim": "realm_access.roles", "jwt_units_claim": "cxloop.units"}
ENTRA = {"jwt_org_claim": "tid", "jwt_scope_claim": "scp,roles"}
OKTA = {"jwt_org_claim": "org", "jwt_scope_claim": "scp"}


class TestClaimNames:
    """How a claim name is looked up: the whole name first, then a dotted path, longest leading part first."""

    def test_a_whole_name_with_dots_wins(self) -> None:
        claims = {"https://example.com/org": "acme", "https://example": {"com/org": "other"}}
        assert claim_value(claims, "https://example.com/org") == "acme"

    def test_a_dotted_path_reads_nested_objects(self) -> None:
        assert claim_value({"realm_access": {"roles": ["a", "b"]}}, "realm_access.roles") == ["a", "b"]

    def test_a_namespaced_object_is_walked_into(self) -> None:
        claims = {"https://example.com/claims": {"units": ["emea"]}}
        assert claim_value(claims, "https://example.com/claims.units") == ["emea"]

    def test_the_longest_leading_part_is_tried_first_then_shorter_ones(self) -> None:
        claims = {"a.b": {"c": 1}, "a": {"b": {"c": 2, "d": 3}}}
        assert claim_value(claims, "a.b.c") == 1
        assert claim_value(claims, "a.b.d") == 3  # `a.b` has no `d`: the path through `a` then `b`

    def test_missing_is_none(self) -> None:
        assert claim_value({"realm_access": {"roles": []}}, "realm_access.groups") is None
        assert claim_value({"realm_access": "roles"}, "realm_access.roles") is None


class TestProviders:
    """Tokens shaped as each provider issues them, verified with the provider's key set and claim mapping."""

    def test_auth0_permissions_array_and_namespaced_org(self, provider: Provider) -> None:
        token = provider.token(
            **{"https://example.com/org": "acme"},
            permissions=["cases:read", "cases:write"],
            scope="openid profile email",  # Auth0's own OAuth scopes are not read once `permissions` is mapped
            azp="client-1",
        )
        caller = TokenVerifier(provider.settings(**AUTH0)).verify(token)
        assert caller == Principal(sub="auth0|5f1", org="acme", scopes=frozenset({"cases:read", "cases:write"}))

    def test_keycloak_realm_roles_and_nested_units(self, provider: Provider) -> None:
        token = provider.token(
            tenant="acme",
            realm_access={"roles": ["cases:read", "offline_access", "uma_authorization"]},
            resource_access={"account": {"roles": ["manage-account"]}},
            cxloop={"units": ["emea/de"]},
            preferred_username="ana",
        )
        caller = TokenVerifier(provider.settings(**KEYCLOAK)).verify(token)
        assert caller.org == "acme"
        assert caller.scopes == {"cases:read", "offline_access", "uma_authorization"}
        assert caller.has_scopes("cases:read") and not caller.has_scopes("cases:write")
        assert caller.units == ("emea/de",)

    def test_entra_delegated_scp_string_and_app_roles_are_merged(self, provider: Provider) -> None:
        settings = provider.settings(**ENTRA)
        delegated = provider.token(tid="72f988bf-86f1", scp="cases:read metrics:read", ver="2.0")
        app_only = provider.token(tid="72f988bf-86f1", roles=["cases:write"], idtyp="app")
        both = provider.token(tid="72f988bf-86f1", scp="cases:read", roles=["cases:write"])
        verifier = TokenVerifier(settings)
        assert verifier.verify(delegated).scopes == {"cases:read", "metrics:read"}
        assert verifier.verify(app_only).scopes == {"cases:write"}
        assert verifier.verify(both).scopes == {"cases:read", "cases:write"}
        assert verifier.verify(both).org == "72f988bf-86f1"

    def test_okta_scp_array(self, provider: Provider) -> None:
        token = provider.token(org="acme", scp=["cases:read", "plans:read"], cid="0oa1", uid="00u1")
        caller = TokenVerifier(provider.settings(**OKTA)).verify(token)
        assert (caller.org, caller.scopes) == ("acme", {"cases:read", "plans:read"})

    def test_without_the_mapped_org_claim_the_token_is_refused(self, provider: Provider) -> None:
        token = provider.token(org="acme", permissions=["cases:read"])  # `org`, but Auth0's mapping names another
        with pytest.raises(Unauthorized, match=re.escape("https://example.com/org")):
            TokenVerifier(provider.settings(**AUTH0)).verify(token)

    @pytest.mark.parametrize("permissions", [{"cases:read": True}, ["cases:read", 7], 42])
    def test_a_scope_claim_of_another_shape_is_refused(self, provider: Provider, permissions: Any) -> None:
        token = provider.token(**{"https://example.com/org": "acme"}, permissions=permissions)
        with pytest.raises(Unauthorized, match="permissions claim"):
            TokenVerifier(provider.settings(**AUTH0)).verify(token)

    def test_a_provider_role_named_events_write_is_refused(self, provider: Provider) -> None:
        token = provider.token(tenant="acme", realm_access={"roles": ["cases:read", "events:write"]})
        with pytest.raises(Unauthorized, match="events:write"):
            TokenVerifier(provider.settings(**KEYCLOAK)).verify(token)

    def test_units_of_the_mapped_claim_are_checked(self, provider: Provider) -> None:
        token = provider.token(tenant="acme", realm_access={"roles": []}, cxloop={"units": ["/"]})
        with pytest.raises(Unauthorized, match="unit path"):
            TokenVerifier(provider.settings(**KEYCLOAK)).verify(token)

    def test_service_tokens_keep_their_own_claims(self, provider: Provider) -> None:
        settings = provider.settings(**{**KEYCLOAK, "jwt_algorithms": ["RS256", "HS256"]})
        verifier = TokenVerifier(settings)
        plain = verifier.identify(mint_service_token(settings, service="survey_api"))
        assert plain == ServicePrincipal(service="survey_api", scopes=frozenset({"events:write"}))
        tenant = Principal(sub="ana", org="acme", scopes=frozenset({"cases:read"}), units=("emea",))
        delegated = verifier.identify(mint_service_token(settings, service="metrics_api", on_behalf_of=tenant))
        assert isinstance(delegated, Principal)
        assert (delegated.org, delegated.scopes, delegated.units) == ("acme", {"cases:read"}, ("emea",))


class TestKeyRotation:
    """Two keys in the set: tokens of either verify; once the old key leaves the set, its tokens are refused."""

    def test_both_keys_then_the_old_one_removed(self, provider: Provider) -> None:
        verifier = TokenVerifier(provider.settings(**OKTA, jwt_jwks_cache_seconds=0))
        old = provider.token("k1", org="acme", scp=["cases:read"])
        new = provider.token("k2", org="acme", scp=["cases:read"])
        assert verifier.verify(old).org == verifier.verify(new).org == "acme"
        provider.publish("k2")
        with pytest.raises(Unauthorized, match="kid"):
            verifier.verify(old)
        assert verifier.verify(new).org == "acme"

    def test_a_removed_key_is_refused_once_the_cache_expires(
        self, provider: Provider, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        verifier = TokenVerifier(provider.settings(**OKTA))  # the default cache: 300 s
        old = provider.token("k1", org="acme", scp=["cases:read"])
        assert verifier.verify(old).org == "acme"
        provider.publish("k2")
        assert verifier.verify(old).org == "acme"  # still cached
        loaded_at = verifier._keyset.loaded_at
        monkeypatch.setattr(verifier._keyset, "loaded_at", loaded_at - 301)
        with pytest.raises(Unauthorized, match="kid"):
            verifier.verify(old)

    def test_a_new_key_is_trusted_as_soon_as_it_is_published(self, provider: Provider) -> None:
        provider.publish("k1")
        verifier = TokenVerifier(provider.settings(**OKTA))
        assert verifier.verify(provider.token("k1", org="acme", scp="cases:read")).org == "acme"
        provider.publish("k1", "k2")  # an unknown kid reads the set again at once
        assert verifier.verify(provider.token("k2", org="acme", scp="cases:read")).org == "acme"


class TestOverHttp:
    """The same tokens at loop_api's API: scopes and tenant from the provider's claims decide what is allowed."""

    @pytest.fixture
    def client_app(self, loop_app: FastAPI, provider: Provider) -> FastAPI:
        loop_app.state.verifier = TokenVerifier(provider.settings(**KEYCLOAK))
        return loop_app

    async def test_roles_decide_and_the_tenant_separates(self, client_app: FastAPI, provider: Provider) -> None:
        def bearer(tenant: str, *roles: str) -> dict[str, str]:
            token = provider.token(tenant=tenant, realm_access={"roles": list(roles)})
            return {"Authorization": f"Bearer {token}"}

        transport = httpx.ASGITransport(app=client_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://loop") as client:
            created = await client.post("/v1/teams", json={"name": "Berlin"}, headers=bearer("acme", "cases:write"))
            assert created.status_code == 201, created.text
            refused = await client.post("/v1/teams", json={"name": "B"}, headers=bearer("acme", "cases:read"))
            assert refused.status_code == 403
            assert "cases:write" in refused.json()["detail"]
            mine = await client.get("/v1/teams", headers=bearer("acme", "cases:read"))
            assert [t["name"] for t in mine.json()["items"]] == ["Berlin"]
            theirs = await client.get("/v1/teams", headers=bearer("globex", "cases:read"))
            assert theirs.json()["items"] == []
            no_tenant = await client.get("/v1/teams", headers={"Authorization": f"Bearer {provider.token()}"})
            assert no_tenant.status_code == 401
