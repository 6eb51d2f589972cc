"""Step 5: what a cell costs. A forward pass over one token costs about 2 x parameters FLOPs
(Kaplan et al. 2020), for prompt and generated tokens alike; attention's share is ignored."""

from tasks.catalog import model_spec, resolve
from tasks.config import EngineParams
from tasks.errors import InfopipeError
from tasks.hf import loader


def flops(parameters: int, tokens: int) -> float:
    return 2.0 * parameters * tokens


def parameters(params: EngineParams, model: str) -> int | None:
    """The model's parameter count from its weight files' headers; None when there are none to
    read: no model at its path, or weights that cannot be read or fetched (OSError, which the
    Hub's network errors are). The model's cells record why it failed; anything else is a bug
    and is raised."""
    spec = model_spec(params, model)
    try:
        return loader.parameters(resolve(model, spec), spec.revision)
    except (InfopipeError, OSError):
        return None
