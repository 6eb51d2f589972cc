"""Loading with transformers: tokenizers and causal LMs of a ModelSpec, and parameter counts."""

from pathlib import Path
from typing import Any

from tasks.config import Dtype, ModelSpec


def torch_dtype(dtype: Dtype) -> Any:
    import torch

    return "auto" if dtype == "auto" else getattr(torch, dtype)


def load_tokenizer(source: str, spec: ModelSpec) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(
        source, revision=spec.revision, trust_remote_code=spec.trust_remote_code
    )


def load_causal_lm(source: str, spec: ModelSpec, device: str = "cpu") -> Any:
    from transformers import AutoModelForCausalLM

    model: Any = AutoModelForCausalLM.from_pretrained(
        source,
        revision=spec.revision,
        dtype=torch_dtype(spec.dtype),
        trust_remote_code=spec.trust_remote_code,
    )
    return model.to(device).eval()


def load_plain_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)


def parameters(source: str, revision: str | None = None) -> int:
    """Parameters of a model from its safetensors headers (no weights loaded): a local
    directory's files, else the Hub's metadata of `source` (gpu profile)."""
    import json
    import struct

    files = sorted(Path(source).glob("*.safetensors")) if Path(source).is_dir() else []
    if not files:
        from huggingface_hub import get_safetensors_metadata

        return int(sum(get_safetensors_metadata(source, revision=revision).parameter_count.values()))
    total = 0
    for path in files:
        with path.open("rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for dim in entry["shape"]:
                    count *= dim
                total += count
    return total
