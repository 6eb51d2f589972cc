import pytest

from tasks.engines import ENGINES
from tasks.errors import InfopipeError
from tasks.registry import Registry


def test_duplicates_are_refused():
    reg: Registry[int] = Registry("sampler")
    reg.register("typical")(1)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("typical")(2)


def test_miss_suggests_close_name():
    with pytest.raises(InfopipeError, match="did you mean 'vllm'"):
        ENGINES.get("vlm")


def test_backends_are_registered():
    assert {"vllm", "hf", "dummy"} <= set(ENGINES.names())
