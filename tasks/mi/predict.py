"""Step 3: the predictor answers from the notes Z and the question Q (greedy); exact match, F1
and containment of the gold answer (`accuracy`, as in the compression job) per answer."""

from collections.abc import Mapping

import polars as pl

from tasks import prompts
from tasks.answers import contains, exact_match, f1
from tasks.engines import Engine
from tasks.mi.datasets import Item
from tasks.samplers import SamplingConfig

SCHEMA = pl.Schema(
    {
        "item_id": pl.String,
        "sample": pl.Int32,
        "prediction": pl.String,
        "accuracy": pl.Float64,
        "exact_match": pl.Float64,
        "f1": pl.Float64,
        "prompt_tokens": pl.Int32,
        "answer_tokens": pl.Int32,
        "prompt_version": pl.String,
    }
)


def answer(
    engine: Engine,
    items: Mapping[str, Item],
    notes: pl.DataFrame,
    prompt_name: str,
    max_tokens: int,
) -> pl.DataFrame:
    """One answer per compression row (item_id, sample, notes). A prompt that does not fit the
    predictor's context is an error naming it (the flow records the cell as failed)."""
    prompt = prompts.load(prompt_name)
    rows = notes.select("item_id", "sample", "notes").rows()
    texts = [prompt.render(document=z, question=items[i].question) for i, _, z in rows]
    sampling = SamplingConfig(max_tokens=max_tokens, temperature=0.0, logprobs=0, entropy=False)
    out = engine.generate(texts, sampling, "error")
    return pl.DataFrame(
        [
            {
                "item_id": i,
                "sample": s,
                "prediction": g.text,
                "accuracy": contains(g.text, items[i].answer),
                "exact_match": exact_match(g.text, items[i].answer),
                "f1": f1(g.text, items[i].answer),
                "prompt_tokens": len(g.prompt_ids),
                "answer_tokens": len(g.token_ids),
                "prompt_version": prompt.tag,
            }
            for (i, s, _), g in zip(rows, out, strict=True)
        ],
        schema=SCHEMA,
    )
