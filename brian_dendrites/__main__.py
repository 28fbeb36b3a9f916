"""``python -m brian_dendrites``: the ``brian-dendrites`` command line (:mod:`brian_dendrites.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
