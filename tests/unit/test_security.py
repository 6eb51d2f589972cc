"""Security defaults: no model's own code runs unless params say so, servers listen on 127.0.0.1.

The remote-code checks load a probe "model" whose Python module writes a marker file when imported
and whose classes raise "probe code ran": each adapter is called with the real libraries."""

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from tasks.config import EngineConfig, ModelSpec
from tasks.hf import classifier as hf_classifier
from tasks.hf import loader
from tasks.params import load_params
from tasks.report.config import ReportConfig

from ..conftest import ROOT

PROBE = """
import os
from pathlib import Path

from transformers import PretrainedConfig

Path(os.environ["INFOPIPE_PROBE_MARKER"]).write_text("ran")


class ProbeConfig(PretrainedConfig):
    model_type = "infopipe_probe"


class _Probe:
    @classmethod
    def register_for_auto_class(cls, *args, **kwargs):
        raise RuntimeError("probe code ran")

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        raise RuntimeError("probe code ran")


class ProbeModel(_Probe):
    config_class = ProbeConfig


class ProbeTokenizer(_Probe):
    pass
"""
CUSTOM_CODE = "contains custom code"
LOADERS = {"from_pretrained", "LLM", "PromptCompressor"}  # calls that may run a model's own code


@pytest.fixture
def probe(tmp_path, monkeypatch) -> Path:
    """A model folder whose config and tokenizer point at its own Python code (auto_map)."""
    folder = tmp_path / "probe-model"
    folder.mkdir()
    auto = {k: "probe.ProbeModel" for k in ("AutoModelForCausalLM", "AutoModelForTokenClassification")}
    config = {"model_type": "infopipe_probe", "architectures": ["ProbeModel"]}
    auto["AutoConfig"] = "probe.ProbeConfig"
    (folder / "config.json").write_text(json.dumps({**config, "auto_map": auto}))
    tokenizer = {"auto_map": {"AutoTokenizer": ["probe.ProbeTokenizer", None]}}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    (folder / "probe.py").write_text(PROBE)
    monkeypatch.setenv("INFOPIPE_PROBE_MARKER", str(tmp_path / "probe-ran"))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))  # llmlingua_pkg seeds it
    return folder


def _refused(probe: Path) -> None:
    assert not (probe.parent / "probe-ran").exists(), "the probe model's code was imported"


def test_model_spec_default_is_false_and_params_files_keep_it():
    assert ModelSpec(path="x").trust_remote_code is False
    for name in ("params.yaml", "params.gpu.yaml"):
        raw = yaml.safe_load((ROOT / name).read_text())["models"]
        params = load_params(ROOT / name)
        for model, spec in params.models.items():
            assert spec.trust_remote_code is raw[model].get("trust_remote_code", False), (name, model)
            assert spec.trust_remote_code is False, f"{name}: models.{model} trusts remote code"


@pytest.mark.parametrize("load", [loader.load_causal_lm, loader.load_tokenizer])
def test_spec_loaders_pass_the_specs_value(probe, load):
    with pytest.raises(ValueError, match=CUSTOM_CODE):
        load(str(probe), ModelSpec(path=str(probe)))
    _refused(probe)
    with pytest.raises(RuntimeError, match="probe code ran"):
        load(str(probe), ModelSpec(path=str(probe), trust_remote_code=True))


def _llmlingua_pkg(folder: Path) -> None:
    from tasks.compression.llmlingua_pkg import LLMLinguaPackage

    LLMLinguaPackage(classifier=str(folder))._compressor  # noqa: B018 - loading is the point


@pytest.mark.parametrize(
    "load",
    [lambda p: hf_classifier.load_token_classifier(str(p)), loader.load_plain_tokenizer, _llmlingua_pkg],
    ids=["token_classifier", "plain_tokenizer", "llmlingua_pkg"],
)
def test_loaders_without_a_spec_never_trust(probe, load):
    """No ModelSpec, so no opt-in: transformers would otherwise ask on stdin, llmlingua say yes."""
    with pytest.raises(ValueError, match=CUSTOM_CODE):
        load(probe)
    _refused(probe)


def test_vllm_engine_passes_the_specs_value(probe):
    from tasks.engines.vllm_engine import VllmEngine

    with pytest.raises(ValueError, match=CUSTOM_CODE):
        VllmEngine("probe", ModelSpec(path=str(probe)), EngineConfig())
    _refused(probe)
    with pytest.raises(RuntimeError, match="probe code ran"):
        VllmEngine("probe", ModelSpec(path=str(probe), trust_remote_code=True), EngineConfig())


def _loader_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted((ROOT / "tasks").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in LOADERS:
                    calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return calls


def test_every_loader_call_says_trust_remote_code():
    """A new call site must pass the spec's value or False, never True and never nothing."""
    calls = _loader_calls()
    assert len(calls) >= 10
    for where, call in calls:
        keywords = {k.arg: k.value for k in call.keywords}
        if "model_config" in keywords:  # llmlingua takes it inside model_config
            config = keywords["model_config"]
            assert isinstance(config, ast.Dict), where
            keywords = {ast.literal_eval(k): v for k, v in zip(config.keys, config.values, strict=True) if k}
        assert "trust_remote_code" in keywords, f"{where}: no trust_remote_code"
        value = ast.unparse(keywords["trust_remote_code"])
        assert value in {"False", "spec.trust_remote_code"}, f"{where}: trust_remote_code={value}"


def test_servers_listen_on_localhost_by_default():
    from prefect.settings import get_current_settings

    makefile = (ROOT / "Makefile").read_text()
    for line in makefile.splitlines():
        if re.search(r"mlflow (ui|server)|prefect server", line):
            assert "--host 127.0.0.1" in line, line
    assert re.search(r"^ui:.*\n\t.*mlflow ui .*--host 127\.0\.0\.1", makefile, re.MULTILINE)
    texts = [makefile, *(p.read_text() for p in [*ROOT.glob("*.yaml"), *(ROOT / "tasks").rglob("*.py")])]
    texts += [p.read_text() for p in (ROOT / "flows").rglob("*.py")]
    assert not [t for t in texts if "0.0.0.0" in t]
    assert ReportConfig().mlflow_ui.startswith("http://127.0.0.1:")
    settings = get_current_settings()  # `infopipe serve` and the flows' ephemeral Prefect server
    assert settings.server.api.host == "127.0.0.1"
    assert settings.runner.server.enable is False and settings.runner.server.host == "localhost"
