"""Forwarding: the hop to the store and back (HTTP, streams, WebSockets, headers, encodings, errors)."""
