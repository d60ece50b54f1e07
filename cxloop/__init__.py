"""cxloop command line: the composition root that knows all three services."""
