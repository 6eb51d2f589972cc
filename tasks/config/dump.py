"""Configs as a short stable hash (stored in every row a task writes) and as flat MLflow params."""

import hashlib
import json
from typing import Any

from pydantic import BaseModel


def config_hash(*parts: BaseModel) -> str:
    """A short stable hash of configs, stored in every row a task writes."""
    blob = json.dumps([p.model_dump(mode="json") for p in parts], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: how configs become MLflow params."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
