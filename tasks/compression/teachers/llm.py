"""An LLM asked to compress, writing freely (the paper's GPT-4 teacher; the gpu profile's
instruct teacher). Outputs that rewrite rather than delete are rejected later by annotation."""

from tasks import prompts
from tasks.compression.teachers.base import TEACHERS, Chunk, Teacher
from tasks.engines import Engine, open_engine


@TEACHERS.register("llm")
class FreeLLM(Teacher):
    def compress(self, chunks: list[Chunk]) -> list[str | None]:
        sampling = self.params.compression.teacher_sampling
        engine = open_engine(self.params, self.config.model)
        prompt = prompts.load(self.config.prompt)
        self.prompt_version = prompt.tag
        texts = [prompt.render(document=c.text) for c in chunks]
        fits = fitting(engine, texts, sampling.max_tokens)
        out: list[str | None] = [None] * len(chunks)
        if fits:
            for i, gen in zip(fits, engine.generate([texts[i] for i in fits], sampling), strict=True):
                out[i] = gen.text.strip()
        return out


def fitting(engine: Engine, texts: list[str], max_tokens: int) -> list[int]:
    """Indices of the prompts that leave `max_tokens` of room in the engine's context."""
    room = engine.spec.max_model_len - max_tokens
    return [i for i, t in enumerate(texts) if len(engine.tokenizer(engine.render(t))["input_ids"]) <= room]
