"""The sweep's steps over its parts (tasks/mi/sweep.py): compress (and score with the compressor
itself), score with a fixed scorer, answer one cell. A step does only the parts that are missing
and returns those it could not make with the reason, so the rest of the sweep completes and the
cell table records why a cell failed.

Each compression and each score table starts from an emptied prefix cache: a log-prob computed
from cached blocks sums in another order (~1e-6 relative), so without it a run resumed after a
kill, whose engine has not made the earlier parts, would score the rest in the last digits
differently from an uninterrupted run. With it, resumed and uninterrupted runs are equal bit for
bit (tasks/bench/faults.py)."""

from collections.abc import Sequence

import polars as pl

from tasks.engines import Engine, close_engines, open_engine
from tasks.errors import InfopipeError, first_line
from tasks.mi.compress import compress
from tasks.mi.config import MiSweepParams
from tasks.mi.datasets import Item
from tasks.mi.predict import answer
from tasks.mi.scoring import score_notes
from tasks.mi.sweep import Cell, Compression, Parts, compressions, grid

Items = dict[str, list[Item]]  # per dataset
Failures = dict[str, str]  # part key -> why it is missing


def _engine(params: MiSweepParams, model: str, keys: Sequence[str]) -> tuple[Engine | None, Failures]:
    """The model's engine, or None and every part it would make recorded as failed."""
    try:
        return open_engine(params, model), {}
    except Exception as err:  # a model that fails to load fails its cells, not the sweep
        return None, {key: f"{model} failed to load: {first_line(err)}" for key in keys}


def compress_all(params: MiSweepParams, compressor: str, items: Items, parts: Parts) -> Failures:
    """The compressor's notes of every (dataset, budget), each scored by the compressor itself
    when it is the scorer (one engine for both)."""
    own_scorer = params.mi_sweep.scorer == "compressor"
    todo = [
        c
        for c in compressions(params.mi_sweep)
        if c.compressor == compressor
        and not (parts.store.done(parts.notes(c)) and (not own_scorer or parts.store.done(parts.scores(c))))
    ]
    if not todo:
        return {}
    keys = [parts.notes(c) for c in todo] + ([parts.scores(c) for c in todo] if own_scorer else [])
    engine, failures = _engine(params, compressor, keys)
    if engine is None:
        return failures
    for c in todo:
        try:
            if not parts.store.done(parts.notes(c)):
                engine.reset_cache()  # a part never depends on what the engine did before it
                parts.store.write(
                    parts.notes(c), compress(engine, items[c.dataset], c.budget, params.mi_sweep)
                )
        except Exception as err:  # e.g. a context longer than the compressor's window
            failures[parts.notes(c)] = first_line(err)
            continue
        if own_scorer:
            failures |= score_all(params, compressor, [c], items, parts, engine)
    return failures


def score_all(
    params: MiSweepParams,
    scorer: str,
    todo: Sequence[Compression],
    items: Items,
    parts: Parts,
    engine: Engine | None = None,
) -> Failures:
    """log p(z | x_j, q) of every finished compression that has no scores yet."""
    todo = [c for c in todo if parts.store.done(parts.notes(c)) and not parts.store.done(parts.scores(c))]
    failures: Failures = {}
    if todo and engine is None:
        engine, failures = _engine(params, scorer, [parts.scores(c) for c in todo])
    if engine is None:
        return failures
    own = params.mi_sweep.scorer == "compressor"
    for c in todo:
        try:
            notes = parts.store.read(parts.notes(c))
            engine.reset_cache()  # same cache state whether or not this run made the notes
            parts.store.write(
                parts.scores(c), score_notes(engine, items[c.dataset], notes, params.mi_sweep, own)
            )
        except Exception as err:  # e.g. an empty compression under a proxy scorer
            failures[parts.scores(c)] = first_line(err)
    return failures


def answer_uncompressed(params: MiSweepParams, predictor: str, items: Items, parts: Parts) -> Failures:
    """The predictor's answers from the whole context X of every dataset's items: whether it
    reads at all (the analyses leave out a predictor that does not)."""
    config = params.mi_sweep
    todo = [d for d in config.datasets if not parts.store.done(parts.uncompressed(d, predictor))]
    if not todo:
        return {}
    engine, failures = _engine(params, predictor, [parts.uncompressed(d, predictor) for d in todo])
    if engine is None:
        return failures
    for dataset in todo:
        whole = pl.DataFrame(
            {
                "item_id": [i.item_id for i in items[dataset]],
                "sample": [0] * len(items[dataset]),
                "notes": [i.context for i in items[dataset]],
            }
        )
        by_id = {item.item_id: item for item in items[dataset]}
        try:
            rows = answer(engine, by_id, whole, config.predictor_prompt, config.answer_tokens)
        except Exception as err:  # e.g. a context longer than the predictor's window
            failures[parts.uncompressed(dataset, predictor)] = first_line(err)
            continue
        parts.store.write(parts.uncompressed(dataset, predictor), rows)
    return failures


def unanswered(params: MiSweepParams, predictor: str, parts: Parts) -> list[Cell]:
    """The predictor's cells whose notes exist and whose answers do not."""
    return [
        cell
        for cell in grid(params.mi_sweep)
        if cell.predictor == predictor
        and parts.store.done(parts.notes(cell.compression))
        and not parts.store.done(parts.answers(cell))
    ]


def answer_cell(params: MiSweepParams, cell: Cell, items: list[Item], parts: Parts) -> None:
    """Answer one cell from its stored notes and store the answers part (atomically). Bad input
    (a model that does not load, notes beyond the predictor's window) is an InfopipeError; an
    engine that fails otherwise is closed first, so that a retry opens a fresh one."""
    config = params.mi_sweep
    try:
        engine = open_engine(params, cell.predictor)
    except Exception as err:
        raise InfopipeError(cell.predictor, f"failed to load: {first_line(err)}") from None
    notes = parts.store.read(parts.notes(cell.compression))
    by_id = {item.item_id: item for item in items}
    try:
        rows = answer(engine, by_id, notes, config.predictor_prompt, config.answer_tokens)
    except InfopipeError as err:
        raise InfopipeError(f"predictor {cell.predictor}", str(err)) from None
    except Exception:
        close_engines(params.engine.backend)  # the retry opens a fresh engine
        raise
    parts.store.write(parts.answers(cell), rows)
