"""``python -m slotwise ...``: the same CLI as the ``slotwise`` script (a venv without its scripts on PATH)."""

import sys

from slotwise.cli import main

sys.exit(main())
