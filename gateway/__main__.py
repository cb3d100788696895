"""``python -m gateway`` is the same as the ``edigw`` command."""

import sys

from gateway.interfaces.entry import main

if __name__ == "__main__":
    sys.exit(main())
