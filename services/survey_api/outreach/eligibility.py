"""Whether a contact may be invited over a channel, and which language an invitation speaks.

Consent: only an explicit `false` for the channel refuses (`no_consent`). A contact with no recorded consent
is invited: survey invitations are service messages about an interaction the contact had, which a CX
platform treats as allowed unless the contact opted out; orgs that need opt-in record `true`/`false` per
contact. An unsubscribed contact (`unsubscribed_at` set) gets no invitation on any channel.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.survey_api.contacts.models import Contact


def personal_reason(contact: Contact | None, channel: str) -> str | None:
    """Why this contact cannot be invited over `channel` whatever the survey, or None if it can."""
    if contact is None or contact.erased_at is not None:
        return "unknown_contact"
    if contact.unsubscribed_at is not None:
        return "unsubscribed"
    if contact.consent.get(channel) is False:
        return "no_consent"
    if (channel == "email" and not contact.email) or (channel == "sms" and not contact.phone):
        return "no_address"
    return None


def invitation_reason(
    contact: Contact | None, channel: str, *, repeated: bool, open_for_survey: set[str], recent: set[str]
) -> str | None:
    """The suppression reason of one target (the first that applies, most specific first), or None."""
    if contact is None:
        return "unknown_contact"
    if repeated:
        return "duplicate"
    reason = personal_reason(contact, channel)
    if reason is not None:
        return reason
    if contact.id in open_for_survey:
        return "duplicate"
    if contact.id in recent:
        return "contact_frequency"
    return None


def language_for(locale: str | None, languages: Sequence[str], default: str) -> str:
    """The survey language closest to the contact's locale (`pt-BR` → `pt-BR`, else `pt`), else the default."""
    if locale:
        if locale in languages:
            return locale
        base = locale.split("-")[0]
        for language in languages:
            if language.split("-")[0] == base:
                return language
    return default
