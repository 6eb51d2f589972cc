"""Generation and scoring with transformers: the hf engine's numerics (the reference for vLLM)."""

from typing import Any

from tasks.samplers import SamplingConfig, build, process


def generate(
    model: Any,
    tokenizer: Any,
    prompt_ids: list[list[int]],
    sampling: SamplingConfig,
    seeds: list[int],
    batch_size: int,
) -> list[dict[str, Any]]:
    """Left-padded batched `model.generate` with raw logits -> chosen, top-k and entropy per step.

    Greedy requests run in batches; sampled ones one at a time under their own seed, so a
    request's sample does not depend on its neighbours (the same contract as the vllm backend).
    """
    import torch

    step = batch_size if sampling.greedy else 1
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = set(_as_list(model.generation_config.eos_token_id)) if not sampling.ignore_eos else set()
    results = []
    for start in range(0, len(prompt_ids), step):
        batch = prompt_ids[start : start + step]
        width = max(len(ids) for ids in batch)
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch])
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch])
        torch.manual_seed(seeds[start])
        with torch.inference_mode():
            out = model.generate(
                input_ids=input_ids.to(model.device),
                attention_mask=mask.to(model.device),
                max_new_tokens=sampling.max_tokens,
                # transformers has no ignore_eos: holding EOS back until max_tokens is the closest.
                min_new_tokens=sampling.max_tokens if sampling.ignore_eos else sampling.min_tokens or None,
                **_sampling_kwargs(sampling),
                eos_token_id=sorted(eos) or None,
                pad_token_id=pad,
                stop_strings=list(sampling.stop) or None,
                tokenizer=tokenizer if sampling.stop else None,
                output_logits=True,
                return_dict_in_generate=True,
            )
        logp = torch.log_softmax(torch.stack(out.logits, dim=1).float(), dim=-1)  # [B, T, V], raw
        for row, ids in enumerate(batch):
            results.append(
                _row(out.sequences[row, width:].tolist(), logp[row], ids, eos, tokenizer, sampling)
            )
    return results


def _sampling_kwargs(sampling: SamplingConfig) -> dict[str, Any]:
    if sampling.sampler is not None:  # our sampler owns temperature and truncation
        processor = _sampler_processor(sampling.sampler)
        return {
            "do_sample": True,
            "temperature": 1.0,
            "top_p": 1.0,
            "top_k": 0,
            "logits_processor": processor,
        }
    if sampling.temperature == 0.0:
        return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    return {
        "do_sample": True,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,  # 0 = off, as in vLLM (None would mean the model's default)
        "min_p": sampling.min_p or None,
    }


def _sampler_processor(setting: Any) -> Any:
    """A tasks/samplers sampler as a transformers logits processor (one per generate call)."""
    from transformers import LogitsProcessor, LogitsProcessorList

    sampler = build(setting)

    class SamplerProcessor(LogitsProcessor):
        def __init__(self) -> None:
            self.states: list[Any] | None = None

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if self.states is None:
                self.states = [sampler.new_state() for _ in range(scores.shape[0])]
            elif sampler.stateful:  # the token each row drew from the scores returned last
                for state, token in zip(self.states, input_ids[:, -1].tolist(), strict=True):
                    sampler.observe(state, token)
            return process(scores.float(), sampler, setting, self.states)

    return LogitsProcessorList([SamplerProcessor()])


def _row(
    new: list[int], logp: Any, prompt: list[int], eos: set[int], tokenizer: Any, sampling: SamplingConfig
) -> dict[str, Any]:
    import torch

    end = next((i + 1 for i, t in enumerate(new) if t in eos), len(new))
    finish = "stop" if any(t in eos for t in new) else "length"
    text = tokenizer.decode(new[:end], skip_special_tokens=True)
    hits = [text.index(stop) for stop in sampling.stop if stop in text]
    if hits:  # vLLM's convention: end on the token completing a stop string; the text leaves it out
        decoded = (tokenizer.decode(new[:j], skip_special_tokens=True) for j in range(1, end + 1))
        end = next(j for j, part in enumerate(decoded, 1) if any(stop in part for stop in sampling.stop))
        text, finish = text[: min(hits)], "stop"
    new, logp = new[:end], logp[:end]
    chosen = logp.gather(-1, torch.tensor(new, dtype=torch.long).unsqueeze(-1)).squeeze(-1)
    tops: list[dict[int, float]] = [{} for _ in new]
    if sampling.logprobs:
        values, indices = logp.topk(sampling.logprobs, dim=-1)
        tops = [dict(zip(i.tolist(), v.tolist(), strict=True)) for i, v in zip(indices, values, strict=True)]
    entropy = (-(logp.exp() * logp).nan_to_num().sum(-1)).tolist() if sampling.entropy else None
    return {
        "prompt_ids": prompt,
        "text": text,
        "token_ids": new,
        "logprobs": chosen.tolist(),
        "top_logprobs": tops,
        "entropy": entropy,
        "tail_mass": [0.0] * len(new) if sampling.entropy else None,
        "finish_reason": finish,
    }


def _continuations(
    model: Any, prompt_ids: list[list[int]], cont_ids: list[list[int]], batch_size: int
) -> Any:
    """Right-padded forward passes: per (prompt, continuation), float32 log-softmax rows
    [len(continuation), vocab], row t the distribution continuation token t was drawn from."""
    import torch

    pairs = list(zip(prompt_ids, cont_ids, strict=True))
    for start in range(0, len(pairs), batch_size):
        batch = [c + k for c, k in pairs[start : start + batch_size]]
        width = max(len(ids) for ids in batch)
        input_ids = torch.tensor([ids + [0] * (width - len(ids)) for ids in batch])
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
        with torch.inference_mode():
            logits = model(input_ids=input_ids.to(model.device), attention_mask=mask.to(model.device)).logits
            for row, (ctx, cont) in enumerate(pairs[start : start + batch_size]):
                span = logits[row, len(ctx) - 1 : len(ctx) + len(cont) - 1].float()
                yield cont, torch.log_softmax(span, dim=-1)


def score(
    model: Any, prompt_ids: list[list[int]], cont_ids: list[list[int]], batch_size: int
) -> list[list[float]]:
    """Log p of each continuation token given everything before it."""
    import torch

    return [
        logp.gather(-1, torch.tensor(cont).unsqueeze(-1)).squeeze(-1).tolist() if cont else []
        for cont, logp in _continuations(model, prompt_ids, cont_ids, batch_size)
    ]


def entropies(
    model: Any, prompt_ids: list[list[int]], cont_ids: list[list[int]], batch_size: int
) -> list[list[float]]:
    """Full-vocabulary entropy (nats) of the raw next-token distribution before each
    continuation token, computed where the logits are (no per-entry Python objects)."""
    return [
        (-(logp.exp() * logp).nan_to_num().sum(-1)).tolist() if cont else []
        for cont, logp in _continuations(model, prompt_ids, cont_ids, batch_size)
    ]


def logits(model: Any, ids: list[int]) -> Any:
    """Raw float32 logits [len(ids), vocab]: row t is the next-token distribution after ids[:t+1]."""
    import torch

    with torch.inference_mode():
        out = model(input_ids=torch.tensor([ids], device=model.device)).logits[0]
    return out.float().cpu()


def _as_list(value: Any) -> list[int]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [int(value)]
