"""The generate job's logic on the dummy engine (the real engines are in tests/engines)."""

import json

import polars as pl
import pytest

from tasks.config import EngineConfig, ModelSpec
from tasks.engines import ENGINES
from tasks.errors import InfopipeError
from tasks.generate.config import GenerateConfig
from tasks.generate.generation import (
    SCHEMA,
    entropy_by_position,
    generate_timed,
    generation_table,
    read_prompts,
    summarize,
)
from tasks.samplers import SamplingConfig


@pytest.fixture
def engine():
    return ENGINES.get("dummy")("dummy", ModelSpec(path="unused", max_model_len=64), EngineConfig())


def config(**kw) -> GenerateConfig:
    return GenerateConfig(model="dummy", sampling=SamplingConfig(max_tokens=8), **kw)


def test_prompts_from_txt_and_jsonl(tmp_path):
    txt = tmp_path / "p.txt"
    txt.write_text("first\n\n  \nsecond\n")
    assert read_prompts(config(prompts_file=str(txt))) == ["first", "second"]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(json.dumps({"prompt": "a"}) + "\n" + json.dumps({"prompt": "b", "id": 2}) + "\n")
    assert read_prompts(config(prompts_file=str(jsonl))) == ["a", "b"]


def test_bad_prompt_files_name_the_file(tmp_path):
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"prompt": "a"}\n{"text": "b"}\n')
    with pytest.raises(InfopipeError, match=r'p.jsonl:2: expected a JSON object with a "prompt" field'):
        read_prompts(config(prompts_file=str(jsonl)))
    empty = tmp_path / "e.txt"
    empty.write_text("\n \n")
    with pytest.raises(InfopipeError, match=r"e\.txt: no prompts in file"):
        read_prompts(config(prompts_file=str(empty)))
    latin = tmp_path / "l.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(InfopipeError, match=r"l\.txt: not UTF-8"):
        read_prompts(config(prompts_file=str(latin)))


def test_prompt_length_policy(engine):
    long = "x" * 60  # 60 byte-tokens + 8 new > max_model_len 64
    with pytest.raises(
        InfopipeError, match=r"prompt 1: 60 tokens \+ max_tokens 8 exceed dummy's max_model_len 64"
    ):
        engine.generate(["ok", long], SamplingConfig(max_tokens=8))
    kept = engine.generate(["ok", long], SamplingConfig(max_tokens=8), truncation="left")
    assert len(kept[1].prompt_ids) == 56


@pytest.mark.parametrize("prompts", [[], ["fine", "   "]])
def test_empty_prompts_are_errors(engine, prompts):
    with pytest.raises(InfopipeError, match="empty"):
        engine.generate(prompts, SamplingConfig(max_tokens=8))


def test_score_needs_matching_lengths(engine):
    with pytest.raises(InfopipeError, match="2 prompts but 1 continuations"):
        engine.score(["a", "b"], ["c"])
    by_text, by_ids = engine.score(["ab", "ab"], ["cd", [99, 100]])
    assert by_text == by_ids


def test_table_schema_and_summary(engine):
    prompts = ["alpha", "beta", "gamma"]
    generations, seconds = generate_timed(engine, prompts, config(prompts=prompts))
    table = generation_table(prompts, generations, model="dummy", engine="dummy", config_hash="abc")
    assert table.schema == SCHEMA
    assert table["new_tokens"].to_list() == [8, 8, 8]
    expected = sum(sum(g.logprobs) / len(g.logprobs) for g in generations) / 3
    metrics = summarize(table, seconds)
    assert metrics["mean_logprob"] == pytest.approx(expected)
    assert metrics["mean_logprob_ci95_low"] <= metrics["mean_logprob"] <= metrics["mean_logprob_ci95_high"]
    assert metrics["prompts"] == 3
    curve = entropy_by_position(generations)
    assert [p["position"] for p in curve] == list(range(8))
    assert curve[0]["entropy"] == pytest.approx(sum(g.entropy[0] for g in generations) / 3)


def test_no_entropy_requested_leaves_columns_empty(engine):
    generations = engine.generate(["a"], SamplingConfig(max_tokens=4, entropy=False))
    table = generation_table(["a"], generations, model="d", engine="d", config_hash="h")
    assert table["mean_entropy"].null_count() == 1
    assert "mean_entropy" not in summarize(table, 1.0)
    assert isinstance(table, pl.DataFrame)
