"""Traffic source of a visit (a bandit context feature): defined with the context, in ``rules.context``."""

from slotwise.rules.context import traffic_source

__all__ = ["traffic_source"]
