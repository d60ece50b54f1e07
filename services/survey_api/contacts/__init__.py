"""Contacts: the people who are surveyed, their upserts and their erasure."""
