"""The command line: the only typer code."""

from fetchcli.cli.app import app, main

__all__ = ["app", "main"]
