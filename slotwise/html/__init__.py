"""Pure HTML rewriting: an edit is a CSS selector and what to do there.

(The implementation is being written in ``slotwise.proxy.html`` and moves
here; this module is its stable import path for ``rules`` and ``proxy``.)
"""

from slotwise.proxy.html import *  # noqa: F401,F403  (temporary until the move)
