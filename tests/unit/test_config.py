from pathlib import Path

import pytest

from flows.params import SECTIONS, read
from tasks.config import EngineConfig, ModelSpec, config_hash, flatten
from tasks.errors import InfopipeError, first_line
from tasks.mi.config import MiSweepParams
from tasks.params import Params, load_params
from tasks.world.config import WorldParams

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
        ("training.phases=[{share: 1.0, blocks: {answr: 2}}]", "blocks: unknown prompt 'answr'"),
        ("training.phases=[{share: 0.5, blocks: {answer: 2}}]", "phases: shares sum to 0.5, not 1"),
        ("training.loss={tokens: 0, targets: 0}", "loss: tokens and targets are both 0"),
        ("training.precision=fp8", "training.precision"),
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


def test_sections_name_every_section_of_the_root_params():
    assert set(SECTIONS) == set(Params.model_fields)


def test_a_stage_validates_only_its_own_sections_but_every_section_name():
    broken = ["mi_sweep.compressors=[gpt-9]"]
    assert read(WorldParams, PARAMS, broken).world.seed == 0  # stage world does not read mi_sweep
    with pytest.raises(InfopipeError, match=r"mi_sweep\.compressors\.0: unknown model 'gpt-9'"):
        read(MiSweepParams, PARAMS, broken)
    with pytest.raises(InfopipeError, match=r"wrold: unknown key"):  # a misspelt section fails every stage
        read(WorldParams, PARAMS, ["wrold.seed=1"])
    assert "world" in WorldParams.model_fields and "models" not in WorldParams.model_fields


def test_a_section_given_twice_is_an_error_naming_both_lines(tmp_path):
    text = PARAMS.read_text()
    twice = tmp_path / "params.yaml"
    twice.write_text(text + "\nworld:\n  seed: 3\n")
    first = next(i for i, line in enumerate(text.splitlines(), 1) if line == "world:")
    second = len(text.splitlines()) + 2
    assert error([], twice) == f"{twice}: 'world' appears twice (lines {first} and {second})"
    nested = tmp_path / "nested.yaml"
    nested.write_text("world:\n  seed: 1\n  seed: 2\n")
    assert "'seed' appears twice (lines 2 and 3)" in error([], nested)


@pytest.mark.parametrize(
    "override",
    [
        "mi_sweep.seed=-5",
        "world.seed=-1",
        "engine.seed=-1",
        "generate.sampling.seed=-2",
        "entigraph.cpt.seed=-1",
    ],
)
def test_negative_seeds_fail_at_load(override):
    key = override.split("=")[0]
    assert f"{key}: Input should be greater than or equal to 0" in error([override])


def test_model_names_are_checked_wherever_a_section_names_one():
    ead = "decoding.settings=[{name: ead, args: {large: gpt-9, threshold: 2}}]"
    assert "decoding.settings.0.args.large: unknown model 'gpt-9'" in error([ead])
    assert "bench.mi.model: unknown model 'gpt-9'" in error(["bench.mi.model=gpt-9"])
    assert load_params(PARAMS, ["mi_sweep.scorer=compressor"]).mi_sweep.scorer == "compressor"
    assert load_params(PARAMS, ["mi_sweep.scorer=world-m"]).mi_sweep.scorer == "world-m"


def test_an_error_in_one_line_even_without_a_message():
    assert first_line(RuntimeError("")) == "RuntimeError"
    assert first_line(ValueError("\n  \n  boom  \nmore")) == "boom"
    assert first_line(KeyError()) == "KeyError"


def test_a_variant_file_extends_its_base_key_by_key(tmp_path):
    base = tmp_path / "params.yaml"
    train = "{people: 10, cities: 4, organisations: 4, products: 4}"
    base.write_text(f"profile: cpu\nworld:\n  seed: 1\n  distractors: 2\n  train: {train}\n")
    variant = tmp_path / "variant.yaml"
    variant.write_text("extends: params.yaml\nworld:\n  seed: 7\n  train: {people: 20}\n")
    world = read(WorldParams, variant, []).world
    assert (world.seed, world.distractors, world.train.people, world.train.cities) == (7, 2, 20, 4)
    # The merged file is validated like any other.
    variant.write_text("extends: params.yaml\nworld:\n  seeds: 7\n")
    with pytest.raises(InfopipeError, match=r"variant.yaml: world.seeds: unknown key$"):
        read(WorldParams, variant, [])
    variant.write_text("extends: absent.yaml\n")
    assert "absent.yaml" in error([], variant) and "file not found" in error([], variant)
    variant.write_text("extends: variant.yaml\n")
    assert "(a cycle)" in error([], variant)
    base.write_text("extends: variant.yaml\nprofile: cpu\n")
    variant.write_text("extends: params.yaml\n")
    assert "(a cycle)" in error([], variant)
    variant.write_text("extends: [params.yaml]\n")
    assert error([], variant) == f"{variant}: extends: expected the path of a params file"


def test_the_full_variant_adds_only_what_the_budget_left_out():
    """params.full.yaml differs from the default only where issue 25's budget traded: every
    headline's sample sizes (documents, contexts, questions, rates, budgets) are the same."""
    full, default = load_params(ROOT / "params.full.yaml"), load_params(PARAMS)
    assert (default.profile, full.profile) == ("cpu", "cpu-full")  # regressions compare within one
    assert set(default.mi_sweep.compressors) < set(full.mi_sweep.compressors)
    assert set(default.entigraph.entities.extractors) < set(full.entigraph.entities.extractors)
    assert set(default.decoding.prose.tracks) < set(full.decoding.prose.tracks)
    assert set(default.decoding.models) < set(full.decoding.models)
    assert set(default.compression.evaluation.methods) < set(full.compression.evaluation.methods)
    strip = {"methods": []}
    assert full.compression.evaluation.model_copy(update=strip) == (
        default.compression.evaluation.model_copy(update=strip)
    )
    traded = {
        "compression": ["evaluation"],
        "mi_sweep": ["compressors"],
        "entigraph": ["entities"],
        "decoding": ["models", "prose"],
    }
    for section, fields in traded.items():
        strip = {f: None for f in fields}
        assert getattr(full, section).model_copy(update=strip) == getattr(default, section).model_copy(
            update=strip
        ), section
    assert full.entigraph.entities.model_copy(update={"extractors": []}) == (
        default.entigraph.entities.model_copy(update={"extractors": []})
    )
    untouched = [s for s in SECTIONS if s not in traded and s != "profile"]
    assert all(getattr(full, s) == getattr(default, s) for s in untouched)
