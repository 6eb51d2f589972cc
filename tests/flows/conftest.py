import pytest


@pytest.fixture(autouse=True)
def _harness(prefect_harness):
    """Every flow test runs against the session's Prefect test harness."""
    yield
