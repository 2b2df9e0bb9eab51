"""`python -m inspector` is the same as the `h2inspect` command."""

from inspector.cli import console

console()
