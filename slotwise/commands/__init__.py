"""Sub-commands of the ``slotwise`` CLI (see ``slotwise.cli``)."""
