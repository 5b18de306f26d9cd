"""Run the project CLI with `python -m <package>`."""

from .cli import app

app(prog_name=__package__)
