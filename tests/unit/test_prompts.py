import pytest

from tasks import prompts
from tasks.errors import InfopipeError
from tasks.models.config import BLOCKS


@pytest.mark.parametrize("name", BLOCKS)
def test_block_prompts_start_with_the_document(name):
    prompt = prompts.load(name)
    assert prompt.template.startswith(prompts.CONTEXT)  # packing repeats only `task` after it
    fields = {"question": "q", "first": "a", "second": "b"}
    assert prompts.CONTEXT.format(document="D") + prompt.task.format(**fields) == prompt.render(
        document="D", **fields
    )
    assert prompt.tag == f"{name}-v{prompt.version}"


def test_unknown_prompt_names_the_known_ones():
    with pytest.raises(InfopipeError, match=r"unknown prompt 'answr' .*answer"):
        prompts.load("answr")
