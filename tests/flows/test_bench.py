import json

import pytest

from .test_cli import infopipe


@pytest.mark.slow
def test_bench_engine_writes_figures(tmp_path, model_overrides):
    out = tmp_path / "engine.json"
    done = infopipe(
        "bench", "engine", "-S", model_overrides[0], "-S", "bench.engine.num_prompts=4",
        "-S", "bench.engine.max_tokens=8", "-S", "bench.engine.repeats=1", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert figures["engine_vs_raw_vllm"] > 0 and figures["vllm_vs_hf"] > 0
    assert set(figures["tokens_per_second"]) >= {"vllm", "raw_vllm", "hf"}
