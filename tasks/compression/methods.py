"""The compressors of an evaluation, built by name, and the parity check against llmlingua."""

from collections.abc import Sequence
from typing import Any

from tasks.compression import gpt_tokens
from tasks.compression.base import COMPRESSORS, Budget, Compressor
from tasks.compression.config import CompressionParams
from tasks.compression.llmlingua2 import LLMLingua2
from tasks.compression.llmlingua_pkg import LLMLinguaPackage
from tasks.compression.words import split


def build_methods(params: CompressionParams, names: Sequence[str], classifier: str) -> dict[str, Compressor]:
    return {name: COMPRESSORS.get(name)(params, classifier) for name in names}


def kept_words(compressor: LLMLingua2, texts: list[str], rate: float) -> list[list[str]]:
    """Our kept words of each text, lower-cased as an uncased encoder's words are."""
    out = []
    for text, result in zip(texts, compressor.compress(texts, Budget(rate=rate)), strict=True):
        assert result.keep is not None
        out.append([w.text.lower() for w, k in zip(split(text), result.keep, strict=True) if k])
    return out


def parity(classifier: str, documents: dict[str, list[str]], rate: float) -> dict[str, Any]:
    """Share of documents where our llmlingua2 keeps exactly the words llmlingua 0.2.2 keeps,
    overall and by source (world, reuters).

    `kept_words_equal_to_llmlingua`: weights counted on lower-cased words as llmlingua does (the
    only difference left once words are compared lower-cased); `..._default`: our weights on words
    as written. Without documents (the corpus stage skipped real texts) a share is None, not 0."""
    equal: dict[str, list[bool]] = {}
    equal_default: list[bool] = []
    if any(documents.values()):
        package = LLMLinguaPackage(classifier=classifier)
        same = LLMLingua2(classifier=classifier, counter=lambda w: gpt_tokens.count(w.lower()))
        default = LLMLingua2(classifier=classifier)
    for source, texts in documents.items():
        if not texts:
            continue
        theirs = [[w for w, label in package.labelled(text, rate) if label] for text in texts]
        equal[source] = [a == b for a, b in zip(kept_words(same, texts, rate), theirs, strict=True)]
        equal_default += [a == b for a, b in zip(kept_words(default, texts, rate), theirs, strict=True)]
    every = [e for values in equal.values() for e in values]
    return {
        "kept_words_equal_to_llmlingua": _share(every),
        "kept_words_equal_to_llmlingua_by_source": {k: _share(v) for k, v in equal.items()},
        "kept_words_equal_to_llmlingua_default": _share(equal_default),
        "parity_documents_by_source": {k: len(v) for k, v in documents.items()},
        "parity_rate": rate,
    }


def _share(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None
