"""Step 5: what a cell costs. A forward pass over one token costs about 2 x parameters FLOPs
(Kaplan et al. 2020), for prompt and generated tokens alike; attention's share is ignored."""

from tasks import hf
from tasks.config import Params
from tasks.models.catalog import model_spec, resolve


def flops(parameters: int, tokens: int) -> float:
    return 2.0 * parameters * tokens


def parameters(params: Params, model: str) -> int | None:
    """The model's parameter count from its weight files' headers; None when it cannot be read
    (a model that fails to load: its cells are recorded as failed)."""
    spec = model_spec(params, model)
    try:
        return hf.parameters(resolve(model, spec), spec.revision)
    except Exception:
        return None
