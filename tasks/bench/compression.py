"""`infopipe bench compression`: compression speed (GPT tokens/s) of our `llmlingua2` against
the `llmlingua` package on the same classifier and inputs, and against `selective_context`
(the paper reports LLMLingua-2 3x-6x faster than perplexity-based compression).

Inputs: the Reuters chunks of the corpus stage at rate 0.5; the classifier of the compression
stage (run `dvc repro compression` first). Each method runs once to warm up, then `repeats`
times, each time a fresh compressor (Selective-Context keeps a text's scores across rates within
one); the best run counts."""

import time
from pathlib import Path
from typing import Any

import polars as pl

from tasks.bench.registry import BENCHMARKS
from tasks.compression import COMPRESSORS, Budget
from tasks.corpus.build import read_chunks
from tasks.errors import InfopipeError
from tasks.params import Params
from tasks.tracking import hardware, library_versions

METHODS = ("llmlingua2", "llmlingua_pkg", "selective_context")
REPEATS = 3


@BENCHMARKS.register("compression")
def compression_bench(params: Params) -> dict[str, Any]:
    classifier = params.compression.classifier.released or "data/compression/classifier"
    if not params.compression.classifier.released and not Path(classifier).is_dir():
        raise InfopipeError(classifier, "no trained classifier; run `dvc repro compression` first")
    chunks = read_chunks()
    texts = chunks.filter(pl.col("source") == "reuters")["text"].to_list()[
        : params.compression.parity_documents
    ]
    if not texts:
        raise InfopipeError("data/corpus/chunks.parquet", "no Reuters chunks to compress")
    speed: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for name in METHODS:
        COMPRESSORS.get(name)(params, classifier).compress(texts[:2], Budget(rate=0.5))  # load, warm up
        best = float("inf")
        for _ in range(REPEATS):
            method = COMPRESSORS.get(name)(params, classifier)  # a fresh one: no scores kept from before
            start = time.perf_counter()
            out = method.compress(texts, Budget(rate=0.5))
            best = min(best, time.perf_counter() - start)
        seconds[name] = best
        speed[name] = sum(r.original_tokens for r in out) / best
    return {
        "llmlingua2_vs_llmlingua_pkg": speed["llmlingua2"] / speed["llmlingua_pkg"],
        "llmlingua2_vs_selective_context": speed["llmlingua2"] / speed["selective_context"],
        "tokens_per_second": speed,
        "seconds": seconds,
        "documents": len(texts),
        "rate": 0.5,
        "repeats": REPEATS,
        "engine": params.engine.backend,
        "hardware": hardware(),
        **library_versions(),
    }
