"""The work of one cell of the decoding grid (model x sampler setting), and of the judge: each
writes its parts (tasks/decoding/grid.py names them), so a rerun does only what is missing."""

from pathlib import Path

import polars as pl

from tasks import lmeval
from tasks.corpus.build import read_chunks
from tasks.decoding import grid, prose, report
from tasks.decoding.config import DecodingParams, DecodingSetting
from tasks.engines import open_engine
from tasks.errors import first_line
from tasks.parts import PartStore
from tasks.samplers import build


def prose_prefixes(params: DecodingParams) -> pl.DataFrame:
    """The prose prompts; none when the corpus stage found no real texts (its metrics say why)."""
    return prose.prefixes(params.decoding, read_chunks())


def run_cell(
    params: DecodingParams,
    model: str,
    setting: DecodingSetting,
    benchmarks: Path,
    names: list[str],
    prefixes: pl.DataFrame,
    store: PartStore,
) -> None:
    """One cell's answers (lm-eval, the benchmarks of folder `benchmarks`) and prose continuations.

    A sampler that decodes with further models (EAD) runs its own decode loop on the backend it
    needs, reports the share of tokens those models drew, and has no prose continuation (the
    prose path warps one engine's scores)."""
    config = params.decoding
    answers_key, prose_key, _ = grid.part_keys(model, setting)
    sampler = build(setting)
    pair = bool(sampler.models())
    if not store.done(answers_key):
        engine = open_engine(params, model, sampler.backend)
        lm = lmeval.engine_lm(engine, lambda name: open_engine(params, name, sampler.backend or "hf"))
        samples = lmeval.run(lm, benchmarks, names, gen_kwargs=lmeval.gen_kwargs(grid.sampler(setting)))
        rows = report.answer_rows(samples).with_columns(
            large_share=pl.lit(report.large_share(lm.switching) if pair else None, dtype=pl.Float64)
        )
        store.write(answers_key, rows)
    prose_models = config.prose.models or config.models
    if not pair and model in prose_models and not prefixes.is_empty() and not store.done(prose_key):
        engine = open_engine(params, model)
        store.write(
            prose_key,
            prose.continue_prose(
                engine, prefixes, grid.sampler(setting), config.prose.max_tokens, config.seed
            ),
        )


def judge_all(params: DecodingParams, cells: list[grid.Cell], store: PartStore) -> dict[str, str]:
    """The judge's surprisal of every continuation not judged yet (one judge engine); the parts it
    could not make, with the reason."""
    todo = [
        (prose_key, judged_key)
        for m, s in cells
        for _, prose_key, judged_key in [grid.part_keys(m, s)]
        if store.done(prose_key) and not store.done(judged_key)
    ]
    if not todo:
        return {}
    try:
        judge = open_engine(params, params.decoding.judge)
    except Exception as err:  # every unjudged cell records why
        reason = f"judge {params.decoding.judge} failed to load: {first_line(err)}"
        return {judged_key: reason for _, judged_key in todo}
    for prose_key, judged_key in todo:
        store.write(judged_key, prose.judge(judge, store.read(prose_key)))
    return {}
