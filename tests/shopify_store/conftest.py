"""The Shopify example's environment: the secret its ``capture.customer.secret_env`` names, as a store sets it
where Slotwise runs."""

from __future__ import annotations

from typing import Iterator

import pytest
from shopify_shop import identity_environment


@pytest.fixture(scope="session", autouse=True)
def identity_secret() -> Iterator[str]:
    with identity_environment() as secret:
        yield secret
