"""The lm-eval adapter (the only module that imports lm_eval): our engines as an lm-eval model.

`EngineLM` wraps any engine: loglikelihood from `engine.score`, generate_until from batched
`engine.generate` with the request's gen_kwargs turned into our sampling (a `sampler` key names a
tasks/samplers sampler; its other keys are the sampler's arguments). `InfopipeLM` is the same,
registered as lm-eval model `infopipe` and built from model_args, so lm-eval's own CLI runs it:

    lm-eval run --model infopipe --model_args model=smollm2-135m-instruct \\
        --tasks infopipe_arithmetic --include_path data/decoding/benchmarks \\
        --gen_kwargs sampler=typical,tau=0.9

(model_args: model, params (default params.yaml), backend, overrides `a.b=1;c.d=2`). lm-eval
0.4.13 loads no plugins (lm-evaluation-harness#1621, #3282): `make install` adds a .pth that
imports tasks/lmeval_plugin.py, which registers `infopipe` once lm-eval's model registry loads.
"""

from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from tasks.config import EngineParams, load
from tasks.engines import Engine, open_engine
from tasks.errors import InfopipeError
from tasks.samplers import SamplerSetting, SamplingConfig, build

LIBRARY = "lm_eval"
LM_EVAL_KEYS = ("until", "max_gen_toks", "do_sample")
BUILTIN_KEYS = ("temperature", "top_p", "top_k", "min_p")


def sampling(kwargs: dict[str, Any], default_tokens: int = 64) -> tuple[SamplingConfig, list[str]]:
    """lm-eval gen_kwargs -> (our sampling, stop strings). Without `sampler`, the usual keys
    (temperature, top_p, top_k, min_p) go to the engine's built-ins; do_sample false is greedy."""
    kw = dict(kwargs)
    until = [kw.pop("until")] if isinstance(kw.get("until"), str) else list(kw.pop("until", None) or [])
    max_tokens = int(kw.pop("max_gen_toks", default_tokens))
    do_sample = kw.pop("do_sample", None)
    base = {"max_tokens": max_tokens, "logprobs": 0, "entropy": False}
    name = kw.pop("sampler", None)
    if name is None:
        unknown = sorted(set(kw) - set(BUILTIN_KEYS))
        if unknown:
            raise InfopipeError("gen_kwargs", f"unknown key {unknown[0]!r} (name a sampler: sampler=<name>)")
        if do_sample is False or not kw.get("temperature"):
            kw = {}
        return SamplingConfig(**base, **kw), until
    setting: dict[str, Any] = {"name": str(name), "args": kw}
    for key in ("temperature", "order"):
        if key in kw:
            setting[key] = kw.pop(key)
    return SamplingConfig(**base, sampler=SamplerSetting.model_validate(setting)), until


@cache
def _lm_class() -> type:
    import lm_eval.models  # noqa: F401 - populate the built-in registry first (stack.md, blocker 4)
    from lm_eval.api.model import LM

    class EngineLM(LM):
        """An lm-eval model over one of our engines; `pair` opens a further model a sampler
        decodes with (EAD's large model)."""

        def __init__(self, engine: Engine, pair: Callable[[str], Engine] | None = None) -> None:
            super().__init__()
            self.engine = engine
            self.pair = pair
            self.switching: list[Any] = []  # generations of samplers with further models, in order

        def loglikelihood(self, requests: Sequence[Any]) -> list[tuple[float, bool]]:
            contexts = [r.args[0] for r in requests]
            continuations = [r.args[1] for r in requests]
            scores = self.engine.score(contexts, continuations)
            greedy = greedy_matches(self.engine, contexts, continuations)
            return [(sum(s), g) for s, g in zip(scores, greedy, strict=True)]

        def loglikelihood_rolling(self, requests: Sequence[Any]) -> list[float]:
            tok = self.engine.tokenizer
            bos = tok.bos_token or tok.eos_token or " "
            return [sum(s) for s in self.engine.score([bos] * len(requests), [r.args[0] for r in requests])]

        def generate_until(self, requests: Sequence[Any]) -> list[str]:
            """Requests with the same gen_kwargs in one batch, each with its own seed (its index)."""
            out: list[str] = [""] * len(requests)
            groups: dict[str, list[int]] = {}
            for i, r in enumerate(requests):
                groups.setdefault(repr(sorted(r.args[1].items())), []).append(i)
            for rows in groups.values():
                config, until = sampling(requests[rows[0]].args[1])
                texts = self._generate([requests[i].args[0] for i in rows], config, until, rows)
                for i, text in zip(rows, texts, strict=True):
                    for stop in until:
                        text = text.split(stop)[0]
                    out[i] = text
            return out

        def _generate(
            self, contexts: list[str], config: SamplingConfig, until: list[str], rows: list[int]
        ) -> list[str]:
            seeds = [self.engine.config.seed + i for i in rows]
            sampler = build(config.sampler) if config.sampler else None
            if sampler is None or not sampler.models():
                return [g.text for g in self.engine.generate(contexts, config, "left", seeds)]
            assert config.sampler is not None  # built from it
            if self.pair is None:
                raise InfopipeError(
                    f"sampler {config.sampler.name}", "this lm-eval model cannot open a further model"
                )
            engines = [self.engine, *(self.pair(name) for name in sampler.models())]
            ids = self.engine.encode_prompts(contexts, config.max_tokens, "left")
            gens = sampler.decode(engines, ids, config.sampler, config.max_tokens, until, seeds[0])
            self.switching.extend(gens)  # which model drew each token, for the caller's report
            return [g.text for g in gens]

    class InfopipeLM(EngineLM):
        """`--model infopipe`: an engine of params.yaml built from lm-eval's model_args."""

        def __init__(
            self,
            model: str,
            params: str = "params.yaml",
            backend: str | None = None,
            overrides: str = "",
            **lm_eval_options: Any,  # batch_size, device, ...: the engine batches and places itself
        ) -> None:
            config = load(EngineParams, params, [o for o in overrides.split(";") if o])
            super().__init__(
                open_engine(config, model, backend), lambda name: open_engine(config, name, backend or "hf")
            )

    return InfopipeLM


def engine_lm(engine: Engine, pair: Callable[[str], Engine] | None = None) -> Any:
    """An lm-eval model over `engine`; `pair(name)` opens a further model a sampler decodes with."""
    return _lm_class().__mro__[1](engine, pair)


def gen_kwargs(setting: SamplerSetting) -> str:
    """A sampler setting as lm-eval's `--gen_kwargs` string (what `sampling` reads back)."""
    items = {
        "sampler": setting.name,
        **setting.args,
        "temperature": setting.temperature,
        "order": setting.order,
    }
    return ",".join(f"{k}={v}" for k, v in items.items())


def __getattr__(name: str) -> Any:
    """`tasks.lmeval:InfopipeLM`, built on first use so that importing this module stays light."""
    if name in ("InfopipeLM", "EngineLM"):
        cls = _lm_class()
        return cls if name == "InfopipeLM" else cls.__mro__[1]
    raise AttributeError(name)


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


def run(
    lm: Any,
    folder: Path,
    benchmarks: Sequence[str],
    gen_kwargs: str | None = None,
    limit: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Run lm-eval benchmarks (task names of the YAML `folder`) on an lm-eval model: per benchmark
    lm-eval's sample log (doc, resps, metric values)."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    results = simple_evaluate(
        model=lm,
        tasks=list(benchmarks),
        # Only our YAMLs: indexing lm-eval's thousands of built-in tasks costs ~13 s a call here.
        task_manager=TaskManager(include_path=str(folder), include_defaults=False),
        num_fewshot=0,
        log_samples=True,
        bootstrap_iters=0,
        random_seed=0,
        gen_kwargs=gen_kwargs,
        limit=limit,
    )
    if results is None:
        raise RuntimeError(f"lm-eval returned no results for {', '.join(benchmarks)}")
    return {name: list(results["samples"][name]) for name in benchmarks}


def response(sample: dict[str, Any]) -> str:
    """The model's text for a generate_until sample of lm-eval's log."""
    return str(sample["resps"][0][0])


def evaluate(engine: Engine, folder: Path, task: str) -> list[dict[str, Any]]:
    """Run lm-eval task `task` of the YAML `folder` on `engine`: one record per document with
    its `acc` (0/1) and the document's fields."""
    return [{**s["doc"], "acc": float(s["acc"])} for s in run(engine_lm(engine), folder, [task])[task]]
