"""The lm-eval adapter (the only module that imports lm_eval): run local YAML tasks on any of
our engines through an lm-eval `LM` wrapping it, so lm-eval scores with vLLM (or hf) as every
job does."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tasks.config import SamplingConfig
from tasks.engines import Engine


def _engine_lm(engine: Engine) -> Any:
    import lm_eval.models  # noqa: F401 - populate the built-in registry first (stack.md, blocker 4)
    from lm_eval.api.model import LM

    class EngineLM(LM):
        """loglikelihood from `engine.score`; greediness checked by a greedy generation;
        generate_until by `engine.generate` (greedy, cut at the first stop string)."""

        def loglikelihood(self, requests: Sequence[Any]) -> list[tuple[float, bool]]:
            contexts = [r.args[0] for r in requests]
            continuations = [r.args[1] for r in requests]
            scores = engine.score(contexts, continuations)
            greedy = greedy_matches(engine, contexts, continuations)
            return [(sum(s), g) for s, g in zip(scores, greedy, strict=True)]

        def loglikelihood_rolling(self, requests: Sequence[Any]) -> list[float]:
            bos = engine.tokenizer.bos_token or engine.tokenizer.eos_token or " "
            return [sum(s) for s in engine.score([bos] * len(requests), [r.args[0] for r in requests])]

        def generate_until(self, requests: Sequence[Any]) -> list[str]:
            out = []
            for request in requests:
                context, kwargs = request.args
                until = list(kwargs.get("until") or [])
                sampling = SamplingConfig(
                    max_tokens=int(kwargs.get("max_gen_toks", 64)), temperature=0.0, logprobs=0, entropy=False
                )
                text = engine.generate([context], sampling, "left")[0].text
                for stop in until:
                    text = text.split(stop)[0]
                out.append(text)
            return out

    return EngineLM()


def greedy_matches(engine: Engine, contexts: Sequence[str], continuations: Sequence[str]) -> list[bool]:
    """Whether greedy decoding after each context produces exactly its continuation's tokens."""
    ctx = engine.encode_prompts(contexts, 0, "error")
    cont = [engine.tokenizer(c, add_special_tokens=False)["input_ids"] for c in continuations]
    out = []
    for length in sorted({len(c) for c in cont}):
        idx = [i for i, c in enumerate(cont) if len(c) == length]
        if length == 0:
            out += [(i, True) for i in idx]
            continue
        sampling = SamplingConfig(
            max_tokens=length, temperature=0.0, logprobs=0, entropy=False, ignore_eos=True
        )
        gens = engine.generate_ids([ctx[i] for i in idx], sampling)
        out += [(i, g.token_ids == cont[i]) for i, g in zip(idx, gens, strict=True)]
    return [g for _, g in sorted(out)]


def evaluate(engine: Engine, folder: Path, task: str) -> list[dict[str, Any]]:
    """Run lm-eval task `task` of the YAML `folder` on `engine`: one record per document with
    its `acc` (0/1) and the document's fields."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    results = simple_evaluate(
        model=_engine_lm(engine),
        tasks=[task],
        task_manager=TaskManager(include_path=str(folder)),
        num_fewshot=0,
        log_samples=True,
        bootstrap_iters=0,
        random_seed=0,
    )
    if results is None:
        raise RuntimeError(f"lm-eval returned no results for {task}")
    return [{**s["doc"], "acc": float(s["acc"])} for s in results["samples"][task]]
