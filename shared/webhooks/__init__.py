"""Outgoing webhooks: subscriptions, Standard Webhooks signing, an SSRF guard, fan-out and delivery."""
