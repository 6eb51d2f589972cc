"""The samplers of tasks/samplers inside vLLM: one V1 logits processor (vLLM 0.32's interface)
that applies, per request, the sampler named in `SamplingParams.extra_args["infopipe_sampler"]`.

Part of the vLLM adapter (with vllm_engine.py): the class must be importable by vLLM's engine
process, so it lives at module level. It runs on raw logits before vLLM's own temperature
(not argmax-invariant: typical sampling can drop the top token), so requests using it sample at
vLLM temperature 1 and the setting's temperature is applied here, in the setting's order.
Stateful samplers (Mirostat) see each request's new output token through the output-id list
vLLM passes by reference when the request joins the batch."""

from dataclasses import dataclass
from typing import Any

import torch
from pydantic import ValidationError
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor
from vllm.v1.sample.logits_processor.builtin import process_dict_updates

from tasks.samplers import Sampler, SamplerSetting, build, process

KEY = "infopipe_sampler"


@dataclass
class Request:
    setting: SamplerSetting
    sampler: Sampler
    state: Any
    output_ids: list[int]  # vLLM's list, growing as the request decodes
    seen: int


def _setting(params: Any) -> SamplerSetting | None:
    raw = (params.extra_args or {}).get(KEY) if params is not None else None
    return None if raw is None else SamplerSetting.model_validate(raw)


class SamplerProcessor(LogitsProcessor):
    @classmethod
    def validate_params(cls, sampling_params: Any) -> None:
        try:
            _setting(sampling_params)
        except ValidationError as err:  # one line: where and what
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"extra_args.{KEY}.{where}: {first['msg']}" if where else first["msg"]) from None

    def __init__(self, vllm_config: Any, device: torch.device, is_pin_memory: bool) -> None:
        self.requests: dict[int, Request] = {}
        self._built: dict[str, Sampler] = {}

    def is_argmax_invariant(self) -> bool:
        return False

    def _new(self, params: Any, prompt_ids: list[int] | None, output_ids: list[int]) -> Request | None:
        setting = _setting(params)
        if setting is None:
            return None
        key = setting.model_dump_json()
        if key not in self._built:
            self._built[key] = build(setting)
        sampler = self._built[key]
        return Request(setting, sampler, sampler.new_state(), output_ids, len(output_ids))

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        process_dict_updates(self.requests, batch_update, self._new)

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.requests:
            return logits
        groups: dict[int, list[int]] = {}
        for row, req in self.requests.items():
            if req.sampler.stateful and len(req.output_ids) > req.seen:
                req.sampler.observe(req.state, req.output_ids[-1])
                req.seen = len(req.output_ids)
            groups.setdefault(id(req.sampler), []).append(row)
        for rows in groups.values():
            first = self.requests[rows[0]]
            index = torch.tensor(rows, device=logits.device)
            states = [self.requests[r].state for r in rows]
            logits[index] = process(logits[index].float(), first.sampler, first.setting, states).to(
                logits.dtype
            )
        return logits
