"""Responses: partner and hosted answers, their checks, reading them back and the export."""
