"""``python -m triplet`` runs the command line."""

import signal
import sys

signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C even while importing
try:
    from triplet.cli.main import main
except KeyboardInterrupt:
    sys.stderr.write("interrupted\n")
    sys.exit(130)

main()
