"""An LLM asked to compress under extractive-constrained decoding (tasks/samplers/extractive.py):
it may only write an in-order subsequence of the chunk's words, at most `rate` of them, so every
output is extractive by construction and none is lost to the filter, while the model still
chooses what to keep. The paper's GPT-4 outputs are filtered afterwards instead."""

import math
from typing import Any

from tasks import prompts
from tasks.compression.teachers.base import TEACHERS, Chunk, Teacher
from tasks.compression.teachers.llm import fitting
from tasks.engines import open_engine
from tasks.samplers import SamplerSetting, SamplingConfig


@TEACHERS.register("extractive")
class ExtractiveLLM(Teacher):
    def compress(self, chunks: list[Chunk]) -> list[str | None]:
        sampling = self.params.compression.teacher_sampling
        engine = open_engine(self.params, self.config.model)
        prompt = prompts.load(self.config.prompt)
        self.prompt_version = f"{prompt.tag}+extractive"
        texts = [prompt.render(document=c.text) for c in chunks]
        fits = fitting(engine, texts, sampling.max_tokens)
        out: list[str | None] = [None] * len(chunks)
        if not fits:
            return out
        eos = end_tokens(engine.tokenizer, sampling.stop)
        samplings = [self.sampling(engine.tokenizer, chunks[i].text, eos) for i in fits]
        gens = engine.generate_each([texts[i] for i in fits], samplings)
        for i, gen in zip(fits, gens, strict=True):
            out[i] = gen.text.strip()
        return out

    def sampling(self, tokenizer: Any, text: str, eos: list[int]) -> SamplingConfig:
        """The teacher sampling with the extractive sampler over this text's words."""
        words = text.split()
        ids = [tokenizer(" " + w, add_special_tokens=False)["input_ids"] for w in words]
        budget = max(1, math.ceil(self.config.rate * len(words)))
        minimum = max(1, math.ceil(self.config.min_rate * len(words)))
        base = self.params.compression.teacher_sampling
        args = {"words": ids, "budget": budget, "minimum": minimum, "eos": eos}
        setting = SamplerSetting(name="extractive", args=args)
        return base.model_copy(
            update={"sampler": setting, "temperature": 0.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0}
        )


def end_tokens(tokenizer: Any, stop: list[str]) -> list[int]:
    """The tokens that may end an output: the tokenizer's end of sequence and every stop string
    that is one token (the family ends its answers with a newline)."""
    ends = [tokenizer.eos_token_id]
    for text in stop:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) == 1:
            ends.append(ids[0])
    return sorted(set(ends))
