"""Rules: which responses open a case, at what priority, routed to whom, with which SLA."""
