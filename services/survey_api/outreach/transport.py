"""What a transport (email, SMS) reports for one message: sent, or failed transiently or for good (shared.mail)."""

from __future__ import annotations

from shared.mail import InTime, Outcome, always

__all__ = ["InTime", "Outcome", "always"]
