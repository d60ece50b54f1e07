"""The schema package shared by the cxloop services: contracts, auth, settings, errors and db helpers."""
