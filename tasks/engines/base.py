"""The engine interface every job uses: batched generation and batched scoring of continuations."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from tasks.catalog import resolve
from tasks.config import EngineConfig, ModelSpec
from tasks.errors import InfopipeError
from tasks.hf import loader
from tasks.samplers import SamplingConfig

Truncation = Literal["error", "left"]


@dataclass(frozen=True, slots=True)
class Generation:
    """One completion. Log-probs are of the model's raw next-token distribution (before
    temperature and other sampling transforms), so they compare across sampling settings."""

    prompt_ids: list[int]
    text: str
    token_ids: list[int]
    logprobs: list[float]  # log p of each chosen token
    top_logprobs: list[dict[int, float]]  # per step: the `sampling.logprobs` most likely tokens
    entropy: list[float] | None  # per step, nats; see tasks.engines.entropy
    tail_mass: list[float] | None  # per step: probability outside the top-k behind `entropy`
    finish_reason: str


class Engine(ABC):
    """A loaded model behind one backend. Build one per flow run and reuse it: start-up is slow."""

    backend: ClassVar[str]

    def __init__(self, name: str, spec: ModelSpec, config: EngineConfig) -> None:
        self.model_name = name
        self.spec = spec
        self.config = config
        self.source = resolve(name, spec)
        self.tokenizer: Any = loader.load_tokenizer(self.source, spec)

    # -- the interface ------------------------------------------------------------------------
    def generate(
        self,
        prompts: Sequence[str],
        sampling: SamplingConfig,
        truncation: Truncation = "error",
        seeds: Sequence[int] | None = None,
    ) -> list[Generation]:
        """One completion per prompt. `seeds` (one per prompt) ties each sample to its request,
        so that a request samples the same text whatever it is batched with (resumed runs)."""
        ids = self.encode_prompts(prompts, sampling.max_tokens, truncation)
        return self.generate_ids(ids, sampling, seeds)

    def generate_each(
        self,
        prompts: Sequence[str],
        samplings: Sequence[SamplingConfig],
        truncation: Truncation = "error",
        seeds: Sequence[int] | None = None,
    ) -> list[Generation]:
        """One completion per prompt, each request with its own sampling (per-request sampler
        arguments: the extractive sampler's source words). Seeds as `generate`'s, from the first."""
        if len(samplings) != len(prompts):
            raise InfopipeError("samplings", f"{len(samplings)} samplings for {len(prompts)} prompts")
        ids = self.encode_prompts(prompts, max((s.max_tokens for s in samplings), default=0), truncation)
        seeds = request_seeds(len(ids), samplings[0], self.config, seeds) if ids else []
        return self.generate_ids_each(ids, samplings, seeds)

    def generate_ids_each(
        self, prompt_ids: list[list[int]], samplings: Sequence[SamplingConfig], seeds: Sequence[int]
    ) -> list[Generation]:
        """Requests with their own samplings; a backend that batches them overrides this."""
        return [
            self.generate_ids([ids], sampling, [seed])[0]
            for ids, sampling, seed in zip(prompt_ids, samplings, seeds, strict=True)
        ]

    def score(
        self, prompts: Sequence[str], continuations: Sequence[str | Sequence[int]]
    ) -> list[list[float]]:
        """Per-token log p(continuation | prompt); a continuation is text or token ids.

        Prompts are rendered as `generate` renders them (chat template included), so scoring a
        generation's tokens reproduces its log-probs."""
        if len(prompts) != len(continuations):
            raise InfopipeError("score", f"{len(prompts)} prompts but {len(continuations)} continuations")
        ctx = self.encode_prompts(prompts, 0, "error")
        cont = [
            self.tokenizer(c, add_special_tokens=False)["input_ids"] if isinstance(c, str) else list(c)
            for c in continuations
        ]
        for i, (c, k) in enumerate(zip(ctx, cont, strict=True)):
            if len(c) + len(k) > self.spec.max_model_len:
                raise InfopipeError(
                    f"continuation {i}",
                    f"{len(c) + len(k)} tokens exceed max_model_len {self.spec.max_model_len}",
                )
        return self.score_ids(ctx, cont)

    @abstractmethod
    def generate_ids(
        self, prompt_ids: list[list[int]], sampling: SamplingConfig, seeds: Sequence[int] | None = None
    ) -> list[Generation]:
        """Generate from already tokenized prompts."""

    @abstractmethod
    def score_ids(self, prompt_ids: list[list[int]], cont_ids: list[list[int]]) -> list[list[float]]:
        """Log-probs of each continuation token given its prompt."""

    def entropy_ids(self, prompt_ids: list[list[int]], cont_ids: list[list[int]]) -> list[list[float]]:
        """Full-vocabulary entropy (nats) of the next-token distribution before each
        continuation token; a backend that holds the logits overrides this."""
        raise InfopipeError("engine", f"backend {self.backend} computes no entropy of given tokens (use hf)")

    def warm_up(self) -> None:
        """One short generation, so that the first timed call does not pay one-off set-up."""
        self.generate_ids([[self.tokenizer.eos_token_id or 0]], SamplingConfig(max_tokens=2))

    def reset_cache(self) -> None:  # noqa: B027 - optional hook
        """Forget cached prompt prefixes, so that a timed run starts cold (benchmarks)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model (processes, memory)."""

    @classmethod
    def exclusive(cls, config: EngineConfig) -> bool:
        """True when only one engine of this backend can live in a process at a time."""
        return False

    # -- shared plumbing ----------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def render(self, prompt: str) -> str:
        """The prompt as the model sees it: wrapped in the chat template when the model has one."""
        if not self.spec.chat_template:
            return prompt
        messages = [{"role": "user", "content": prompt}]
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    def encode_prompts(
        self, prompts: Sequence[str], max_new_tokens: int, truncation: Truncation
    ) -> list[list[int]]:
        if not prompts:
            raise InfopipeError("prompts", "the prompt list is empty")
        budget = self.spec.max_model_len - max_new_tokens
        if budget <= 0:
            raise InfopipeError(
                "sampling.max_tokens",
                f"{max_new_tokens} leaves no room for a prompt in max_model_len {self.spec.max_model_len}",
            )
        out = []
        for i, prompt in enumerate(prompts):
            if not prompt.strip():
                raise InfopipeError(f"prompt {i}", "is empty")
            ids = self.tokenizer(self.render(prompt), add_special_tokens=not self.spec.chat_template)[
                "input_ids"
            ]
            if len(ids) > budget:
                if truncation == "error":
                    raise InfopipeError(
                        f"prompt {i}",
                        f"{len(ids)} tokens + max_tokens {max_new_tokens} exceed {self.model_name}'s "
                        f"max_model_len {self.spec.max_model_len} (set truncation: left to keep its end)",
                    )
                ids = ids[-budget:]
            out.append(list(ids))
        return out


def request_seeds(
    n: int, sampling: SamplingConfig, config: EngineConfig, seeds: Sequence[int] | None = None
) -> list[int]:
    """One seed per request, so a request's sample does not depend on what it was batched with:
    the caller's `seeds`, else the sampling (or engine) seed plus the request's index."""
    if seeds is not None:
        if len(seeds) != n:
            raise InfopipeError("seeds", f"{len(seeds)} seeds for {n} requests")
        return list(seeds)
    base = config.seed if sampling.seed is None else sampling.seed
    return [base + i for i in range(n)]
