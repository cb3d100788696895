"""``python -m gateway`` is the same as the ``edigw`` command."""

from gateway.interfaces.cli import main

if __name__ == "__main__":
    main()
