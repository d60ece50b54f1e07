"""The links of an invitation: its token, derived from a server key, and the survey and unsubscribe URLs.

A token is HMAC-SHA256(key, invitation id), URL-safe: 256 bits nobody can guess without the key. Only its
SHA-256 is stored (`invitations.hash_token`), so a database dump still reveals no usable link, while the
sender — which must put the link into an email hours after the distribution was created — derives the same
token again instead of keeping it. The key must stay stable: after a change the sender stores the hash of
the link it actually sent (re-keying), so the newest link opens and the earlier one no longer does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from services.survey_api.outreach.invitations import hash_token, invitation_url
from services.survey_api.settings import SurveySettings


@dataclass(frozen=True)
class Links:
    """An invitation's token and the URLs built from it."""

    token: str
    url: str
    unsubscribe_url: str


def invitation_token(secret: str, invitation_id: str) -> str:
    """The token of an invitation: the same for the same id and key, unguessable without the key."""
    digest = hmac.new(secret.encode(), f"invitation:{invitation_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash_for(settings: SurveySettings, invitation_id: str) -> str:
    """What is stored in place of an invitation's token."""
    return hash_token(invitation_token(settings.invitation_secret, invitation_id))


def links_for(settings: SurveySettings, invitation_id: str) -> Links:
    """The token, survey link and unsubscribe link (`/u/{token}`, the hosted page's) of an invitation."""
    token = invitation_token(settings.invitation_secret, invitation_id)
    base = settings.respondent_base_url.rstrip("/")
    return Links(token=token, url=invitation_url(base, token), unsubscribe_url=f"{base}/u/{token}")
