"""Slotwise: an on-site personalization edge for online stores."""
__version__ = "0.1.0"
