"""Section `corpus` of params.yaml: which real texts, and how they are chunked (stage `corpus`)."""

from tasks.config import PositiveInt, StageParams, Strict


class CorpusConfig(Strict):
    debian_root: str = ".cache/debian"  # where `make install` unpacks the Debian packages
    sources: list[str] = ["janeausten", "reuters"]
    chunk_words: PositiveInt = 250
    required: bool = False  # a missing package: an error instead of a one-line skip


class CorpusParams(StageParams):
    corpus: CorpusConfig = CorpusConfig()
