"""People: who owns cases, their email address, the units they look after and how they want to be told."""
