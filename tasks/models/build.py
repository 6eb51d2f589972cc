"""The `models` stage's work: make every model of params.yaml that has a `build` recipe."""

import logging
from pathlib import Path

from tasks.catalog import package_dir
from tasks.config import ModelSpec
from tasks.errors import InfopipeError
from tasks.hf import builder
from tasks.io import atomic_path

log = logging.getLogger(__name__)


def build_gguf(name: str, spec: ModelSpec) -> Path:
    """Dequantize the GGUF named by spec.build into spec.path, atomically."""
    assert spec.build and spec.path  # guaranteed by ModelSpec validation
    where = f"models.{name}.build"
    src = package_dir(spec.build.package, f"{where}.package")
    if not (src / spec.build.file).is_file():
        raise InfopipeError(f"{where}.file", f"{spec.build.file} not found in {src}")
    out = Path(spec.path)
    log.info("converting %s/%s -> %s", src, spec.build.file, out)
    with atomic_path(out) as tmp:
        builder.convert_gguf(src, spec.build.file, tmp, spec.build.save_dtype)
    return out
