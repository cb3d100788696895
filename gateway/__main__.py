"""``python -m gateway`` is the same as the ``edigw`` command."""

from gateway.cli import main

main()
