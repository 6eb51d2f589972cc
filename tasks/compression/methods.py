"""The compressors of an evaluation, built by name, and the parity check against llmlingua."""

from collections.abc import Sequence

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


def parity(classifier: str, texts: list[str], rate: float) -> dict[str, float | None]:
    """Share of texts where our llmlingua2 keeps exactly the words llmlingua 0.2.2 keeps.

    `as_llmlingua`: weights counted on lower-cased words as llmlingua does (the only difference
    left once words are compared lower-cased); `default`: our weights on words as written.
    Without real texts (the corpus stage skipped them) the shares are None, not 0."""
    if not texts:
        return {"kept_words_equal_to_llmlingua": None, "kept_words_equal_to_llmlingua_default": None,
                "parity_documents": 0.0, "parity_rate": rate}  # fmt: skip
    package = LLMLinguaPackage(classifier=classifier)
    theirs = [[w for w, label in package.labelled(text, rate) if label] for text in texts]
    same = LLMLingua2(classifier=classifier, counter=lambda w: gpt_tokens.count(w.lower()))
    default = LLMLingua2(classifier=classifier)
    ours_same, ours_default = kept_words(same, texts, rate), kept_words(default, texts, rate)
    n = max(len(texts), 1)
    return {
        "kept_words_equal_to_llmlingua": sum(a == b for a, b in zip(ours_same, theirs, strict=True)) / n,
        "kept_words_equal_to_llmlingua_default": sum(
            a == b for a, b in zip(ours_default, theirs, strict=True)
        )
        / n,
        "parity_documents": float(len(texts)),
        "parity_rate": rate,
    }
