"""``python -m procmine.cli``: the same as the ``procmine`` command."""

from procmine.cli import main

main()
