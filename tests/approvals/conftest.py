"""Fixtures for approvals: a stocked store and people in their roles (see tests.approvals.helpers)."""

import pytest

from tests.approvals.helpers import make_shop, make_staff


@pytest.fixture
def shop(db):
    return make_shop()


@pytest.fixture
def staff(shop):
    return make_staff(shop)
