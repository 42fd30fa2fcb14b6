"""``python -m skhsi.cli``: the ``skhsi`` command."""

from . import console_main

console_main()
