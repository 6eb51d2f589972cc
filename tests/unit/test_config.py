from pathlib import Path

import pytest

from tasks.config import EngineConfig, ModelSpec, config_hash, flatten, load_params
from tasks.errors import InfopipeError

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "params.yaml"


def error(overrides: list[str], path: Path = PARAMS) -> str:
    with pytest.raises(InfopipeError) as info:
        load_params(path, overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_repo_params_validate():
    params = load_params(PARAMS)
    assert params.generate.model in params.models
    assert params.engine.backend == "vllm"


def test_override_parses_values_as_yaml_like_dvc():
    params = load_params(
        PARAMS, ["generate.sampling.max_tokens=7", "generate.prompts=[a, b]", "engine.in_process=false"]
    )
    assert params.generate.sampling.max_tokens == 7
    assert params.generate.prompts == ["a", "b"]
    assert params.engine.in_process is False


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("generate.sampling.max_tokns=3", "generate.sampling.max_tokns: unknown key"),
        ("nosection.key=1", "nosection: unknown key"),
        ("engine.seed=abc", "engine.seed: Input should be a valid integer"),
        ("generate.model=gpt9", "generate.model: unknown model 'gpt9'"),
        ("generate.prompts=[]", "prompts is empty"),
        ("generate.sampling.top_p=1.5", "generate.sampling.top_p"),
        ("generate.truncation=middle", "generate.truncation"),
        ("engine.tensor_parallel_size=2", "in_process needs tensor_parallel_size 1"),
        ("generate.sampling.logprobs=50", "generate.sampling.logprobs: 50 exceeds engine.max_logprobs 20"),
        ("models.world-s.train.head_dim=16", "head_dim 16 is not one vLLM's CPU attention runs"),
        ("models.world-s.train.hidden=100", "hidden 100 is not a multiple of head_dim 64"),
        ("models.world-s.train.steps=-5", "models.world-s.train.steps"),
        ("training.blocks.answr=2", "blocks: unknown prompt 'answr'"),
        ("training.vocab_size=100", "training.vocab_size"),
    ],
)
def test_bad_params_name_the_key(override, expected):
    message = error([override])
    assert message.startswith(f"{PARAMS}: ")
    assert expected in message


def test_override_without_equals_is_an_error():
    assert "expected section.key=value" in error(["generate.model"])


def test_missing_and_broken_files(tmp_path):
    assert "file not found" in error([], tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("generate: [unclosed\n")
    assert "invalid YAML at line" in error([], broken)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("profile: caf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in error([], latin)


def test_model_spec_needs_exactly_one_source():
    with pytest.raises(ValueError, match="exactly one of path, hf_id, package"):
        ModelSpec(path="a", hf_id="b/c")
    with pytest.raises(ValueError, match="exactly one"):
        ModelSpec()
    assert ModelSpec(hf_id="Qwen/Qwen2.5-0.5B-Instruct").hf_id


def test_config_hash_tracks_content():
    assert config_hash(EngineConfig()) == config_hash(EngineConfig())
    assert config_hash(EngineConfig()) != config_hash(EngineConfig(seed=1))


def test_flatten():
    assert flatten({"a": {"b": 1, "c": {"d": [1]}}, "e": {}}) == {"a.b": 1, "a.c.d": [1], "e": {}}
