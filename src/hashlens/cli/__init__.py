"""The command-line face (Typer + Rich)."""
