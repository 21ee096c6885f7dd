"""The bundled demo storefront that Slotwise is demoed and tested in front of.

``create_app(data_dir)`` builds the Starlette app; ``python -m slotwise.demo``
serves it. Its markup follows docs/conventions-demo-markup.md.
"""

from .app import create_app

__all__ = ["create_app"]
