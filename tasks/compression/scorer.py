"""Compressors that score text with a causal LM (`compression.scorer`) through the engine."""

from tasks.compression.base import Compressor
from tasks.compression.config import CompressionParams
from tasks.engines import open_engine


class ScorerCompressor(Compressor):
    def __init__(self, params: CompressionParams, classifier: str | None = None) -> None:
        self.engine = open_engine(params, params.compression.scorer)

    @property
    def start(self) -> int:
        """The token every scored text is conditioned on: BOS, or EOS for models without one."""
        tok = self.engine.tokenizer
        return int(tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id)
