import pytest

from billing import enforcement, limiter
from tests.bad_input.world import World, build_world


@pytest.fixture(autouse=True)
def _counters_in_this_process():
    enforcement.use_backend(limiter.LocalBackend())
    yield
    enforcement.use_backend(None)


@pytest.fixture
def world(personas, staff) -> World:
    return build_world(personas, staff)
