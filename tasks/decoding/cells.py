"""The work of one cell of the decoding grid (model x sampler setting), and of the judge: each
writes its parts (tasks/decoding/grid.py names them), so a rerun does only what is missing."""

from pathlib import Path

import polars as pl

from tasks import lmeval
from tasks.corpus.build import read_chunks
from tasks.decoding import grid, prose, report
from tasks.decoding.config import WORLD, DecodingParams, DecodingSetting
from tasks.engines import open_engine
from tasks.errors import first_line
from tasks.parts import PartStore
from tasks.samplers import build
from tasks.world.build import read_world


def prose_prefixes(params: DecodingParams) -> dict[str, pl.DataFrame]:
    """Each track's prompts: held-out world documents and corpus chunks; a corpus source has none
    when the corpus stage found no real texts (its metrics say why)."""
    config = params.decoding.prose
    sources = {s for t in config.tracks.values() for s in t.sources}
    texts = [pl.DataFrame(schema=prose.TEXTS_SCHEMA)]
    if WORLD in sources:
        docs = read_world()["documents"].filter(pl.col("split") == "heldout")
        texts.append(docs.select(chunk_id="doc_id", source=pl.lit(WORLD), text="text"))
    if sources - {WORLD}:
        texts.append(read_chunks().select(*prose.TEXTS_SCHEMA))
    pool = pl.concat(texts, how="vertical_relaxed")
    return {name: prose.prefixes(t, config.prefix_words, pool) for name, t in config.tracks.items()}


def run_cell(
    params: DecodingParams,
    model: str,
    setting: DecodingSetting,
    benchmarks: Path,
    names: list[str],
    prefixes: dict[str, pl.DataFrame],
    store: PartStore,
) -> None:
    """One cell's answers (lm-eval, the benchmarks of folder `benchmarks`) and, where the model
    generates in a prose track, its continuations of the track's prefixes.

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
    track = config.prose.track_of(model)
    if pair or track is None or prefixes[track].is_empty() or store.done(prose_key):
        return
    engine = open_engine(params, model)
    store.write(
        prose_key,
        prose.continue_prose(
            engine, prefixes[track], grid.sampler(setting), config.prose.max_tokens, config.seed
        ),
    )


def judge_all(params: DecodingParams, cells: list[grid.Cell], store: PartStore) -> dict[str, str]:
    """Each track's judge's surprisal of every continuation not judged yet (one judge engine at a
    time); the parts it could not make, with the reason."""
    tracks = params.decoding.prose.tracks
    todo: dict[str, list[tuple[str, str]]] = {}
    for m, s in cells:
        track = params.decoding.prose.track_of(m)
        _, prose_key, judged_key = grid.part_keys(m, s)
        if track and store.done(prose_key) and not store.done(judged_key):
            todo.setdefault(tracks[track].judge, []).append((prose_key, judged_key))
    failures: dict[str, str] = {}
    for name, parts in todo.items():
        try:
            judge = open_engine(params, name)
        except Exception as err:  # every cell it would judge records why
            failures |= {judged: f"judge {name} failed to load: {first_line(err)}" for _, judged in parts}
            continue
        for prose_key, judged_key in parts:
            store.write(judged_key, prose.judge(judge, store.read(prose_key)))
    return failures
