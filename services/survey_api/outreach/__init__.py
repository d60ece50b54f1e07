"""Outreach: distributions, triggers and follow-ups issue invitations; the sender delivers and reminds."""
