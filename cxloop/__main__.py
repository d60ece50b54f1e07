"""`python -m cxloop`: the same as the `cxloop` command."""

from cxloop.cli import app

app(prog_name="cxloop")
