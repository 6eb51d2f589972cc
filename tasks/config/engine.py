"""The shared `engine` section: inference backend settings every job's engines use."""

from typing import Literal

from pydantic import model_validator

from tasks.config.base import Fraction, PositiveInt, Seed, Strict


class EngineConfig(Strict):
    """Inference backend settings shared by every job; the backend is a registry name."""

    backend: str = "vllm"
    seed: Seed = 0
    enforce_eager: bool = True
    kv_cache_gib: PositiveInt = 1  # vLLM CPU KV cache in GiB (VLLM_CPU_KVCACHE_SPACE)
    gpu_memory_utilization: Fraction = 0.85
    tensor_parallel_size: PositiveInt = 1
    max_logprobs: PositiveInt = 20  # top-k kept per step; entropy is computed from these
    cpu_threads: Literal["all", "vllm-default"] = "all"
    in_process: bool = True  # vLLM engine core and worker in this process (tensor_parallel_size 1)
    # vLLM may split a prompt's prefill over steps; vLLM 0.32's CPU runner then crashes on seeded
    # sampling ("CPU Generator does not use offset"). Off: every prompt is prefilled whole.
    chunked_prefill: bool = True
    # vLLM reuses the KV cache of shared prompt prefixes (whole blocks of `block_size` tokens;
    # None = vLLM's default, 128 on CPU, so a shared prefix shorter than that is not reused).
    prefix_caching: bool = True
    block_size: PositiveInt | None = None
    hf_batch_size: PositiveInt = 8
    hf_device: str = "cpu"  # where the transformers backend and the Trainer-based steps run

    @model_validator(mode="after")
    def _in_process_single(self) -> "EngineConfig":
        if self.in_process and self.tensor_parallel_size > 1:
            raise ValueError("in_process needs tensor_parallel_size 1 (set in_process: false)")
        return self
