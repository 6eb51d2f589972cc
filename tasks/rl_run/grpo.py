"""The TRL adapter: the only module that imports trl. GRPO (DeepSeekMath; TRL's GRPOTrainer)
with a verifiable reward, generation by transformers on the training process (no vLLM server:
the cpu profile's policies are tiny), a checkpoint every `save_every` steps.

The series starts with the untrained policy as `checkpoint-0`; TRL writes the others as
`checkpoint-<step>/` with its `trainer_state.json` (global step and training metrics). A world
answer is one line, so the newline ends a completion like EOS does (the reward reads the first
line; tokens after it would only add noise to the gradient)."""

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tasks.checkpoints.prompts import Item
from tasks.config import ModelSpec
from tasks.errors import InfopipeError, first_line
from tasks.hf import builder, loader
from tasks.rl_run.config import RlRunConfig


def reward_function(verify: Callable[[str, str], float]) -> Callable[..., list[float | None]]:
    """TRL's reward signature: completions and the dataset's columns as keyword lists. A NaN
    reward (a verifier that cannot judge) is None: TRL leaves it out of the group statistics."""

    def reward(completions: list[str], answer: list[str], **_: Any) -> list[float | None]:
        scores = [verify(c, a) for c, a in zip(completions, answer, strict=True)]
        return [None if math.isnan(s) else s for s in scores]

    reward.__name__ = "verifier"
    return reward


def newline_ends(model: Any, tokenizer: Any) -> bool:
    """Add the newline token to the model's EOS ids when the tokenizer has one for it alone."""
    ids = tokenizer("\n", add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        return False
    eos = model.generation_config.eos_token_id
    eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    model.generation_config.eos_token_id = [*eos, ids[0]] if ids[0] not in eos else eos
    return True


def arguments(config: RlRunConfig, out: Path) -> Any:
    """TRL's GRPOConfig from ours; `rl_run.trl` adds or overrides arguments (a bad one is an error
    naming rl_run.trl before any training)."""
    import torch
    from trl import GRPOConfig

    settings: dict[str, Any] = {
        "output_dir": str(out),
        "max_steps": config.steps,
        "save_strategy": "steps",
        "save_steps": config.save_every,
        "save_only_model": True,
        "per_device_train_batch_size": config.prompts_per_step * config.generations,
        "num_generations": config.generations,
        "max_completion_length": config.max_tokens,
        "temperature": config.temperature,
        "learning_rate": config.lr,
        "beta": config.beta,
        "logging_steps": 1,
        "report_to": "none",  # the flow logs TRL's history to MLflow itself
        "use_cpu": not torch.cuda.is_available(),
        "bf16": False,
        "seed": config.seed,
        "data_seed": config.seed,
        "disable_tqdm": True,
    }
    try:
        return GRPOConfig(**(settings | config.trl))
    except (TypeError, ValueError) as err:
        raise InfopipeError("rl_run.trl", first_line(err)) from None


def train(
    config: RlRunConfig,
    source: str,
    spec: ModelSpec,
    items: list[Item],
    verify: Callable[[str, str], float],
    out: Path,
) -> list[dict[str, Any]]:
    """Run GRPO; checkpoints land in `out`. Returns TRL's log history (one entry per step)."""
    import torch
    from datasets import Dataset
    from trl import GRPOTrainer

    if config.threads:
        torch.set_num_threads(config.threads)
    tokenizer = loader.load_tokenizer(source, spec)
    model = loader.load_causal_lm(source, spec).train()
    newline_ends(model, tokenizer)
    args = arguments(config, out)
    data = Dataset.from_list([{"prompt": i.prompt, "answer": i.answer} for i in items])
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward_function(verify)],
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
    )
    builder.save_model(model, trainer.processing_class, out / "checkpoint-0")  # the starting policy
    trainer.train()
    return [dict(entry) for entry in trainer.state.log_history]
