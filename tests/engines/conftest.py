import pytest

from tasks.engines import open_engine

from ..conftest import MODEL


@pytest.fixture(scope="session")
def vllm_engine(params):
    return open_engine(params, MODEL, "vllm")


@pytest.fixture(scope="session")
def hf_engine(params):
    return open_engine(params, MODEL, "hf")
