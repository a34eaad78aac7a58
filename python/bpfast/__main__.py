"""``python -m bpfast``: the ``bpfast`` command line (see :mod:`bpfast.cli`)."""

import sys

from .cli import main

sys.exit(main())
