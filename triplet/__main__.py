"""``python -m triplet`` runs the command line."""

from triplet.cli.main import main

main()
