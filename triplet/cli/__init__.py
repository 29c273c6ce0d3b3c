"""The ``triplet`` command line (typer + rich). Each stage registers its commands."""
