"""``python -m skhsi.cli``: the ``skhsi`` command."""

import sys

from . import main

sys.exit(main())
