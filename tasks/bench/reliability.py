"""`infopipe bench reliability`: every bad input of CASES run as a user runs it, in a fresh working
directory; a case is a clear error when the command exits non-zero with one line
`infopipe: error: ...` naming the culprit and writes nothing under data/ or reports/.

CASES is also what tests/flows/test_bad_inputs.py runs (most cases in-process there). Each case
fails at validation, before any model is loaded: the benchmark takes minutes, not hours.
"""

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.bench.faults import kill_resume
from tasks.bench.registry import BENCHMARKS, user_env
from tasks.params import Params

REPO = Path(__file__).resolve().parents[2]
PARAMS = "{params}"  # in argv: the repository's params.yaml
PREFIX = "infopipe: error: "
Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # params | file | model
    argv: tuple[str, ...]
    fragments: tuple[str, ...]  # each must be in the error line
    setup: Setup | None = field(default=None, compare=False)  # writes the bad file into the workdir

    def command(self, params: Path = REPO / "params.yaml") -> list[str]:
        return [str(params) if a == PARAMS else a for a in self.argv]


def _cmd(command: str, *args: str, sets: tuple[str, ...] = ()) -> tuple[str, ...]:
    overrides = [part for s in sets for part in ("-S", s)]
    return (command, *args, "--params", PARAMS, *overrides)


def _params(name: str, sets: str | tuple[str, ...], *fragments: str, command: str = "params") -> Case:
    """A bad override: `infopipe params -S ...` or `infopipe run <flow> -S ...`."""
    sets = (sets,) if isinstance(sets, str) else sets
    flow = () if command == "params" else (command,)
    return Case(name, "params", _cmd("params" if command == "params" else "run", *flow, sets=sets), fragments)


def _write(files: Mapping[str, str | bytes]) -> Setup:
    def setup(workdir: Path) -> None:
        for name, content in files.items():
            path = workdir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)

    return setup


def _checkpoint(
    config: str = "{}", tokenizer: str | None = '{"v": 1}', state: str | None = None
) -> dict[str, str]:
    files = {"config.json": config}
    if tokenizer is not None:
        files["tokenizer.json"] = tokenizer
    if state is not None:
        files["trainer_state.json"] = state
    return files


def _series(**checkpoints: dict[str, str]) -> dict[str, str]:
    """Files of a checkpoint series folder `series/`: one sub-folder per checkpoint."""
    return {f"series/{name}/{f}": text for name, files in checkpoints.items() for f, text in files.items()}


DUMMY = "engine.backend=dummy"  # no model is loaded even if validation let a case through
PROMPTS_FILE = ("generate.prompts=null", DUMMY)
MINE = ("mi_sweep.datasets=[mine]", "mi_sweep.dataset_files={mine: mine.jsonl}")

CASES: list[Case] = [
    # -- params: overrides every job validates before Prefect starts ----------------------------
    _params("unknown_key", "generate.sampling.max_tokns=3", "generate.sampling.max_tokns: unknown key"),
    _params("unknown_model", "generate.model=nope", "generate.model: unknown model 'nope'"),
    _params("override_without_equals", "generate.model", "-S: expected section.key=value"),
    _params("override_into_a_value", "profile.name=x", "profile.name: profile is not a section"),
    _params(
        "model_two_sources",
        "models.world-s.hf_id=org/model",
        "models.world-s",
        "give exactly one of path, hf_id, package",
    ),
    _params("empty_prompts", "generate.prompts=[]", "prompts is empty", command="generate"),
    _params(
        "logprobs_over_engine_max",
        "generate.sampling.logprobs=50",
        "generate.sampling.logprobs: 50 exceeds engine.max_logprobs 20",
        command="generate",
    ),
    _params(
        "temperature_beside_sampler",
        ("generate.sampling.sampler={name: greedy}", "generate.sampling.temperature=0.7"),
        "temperature: set it in the sampler (greedy)",
        command="generate",
    ),
    _params(
        "tensor_parallel_in_process",
        "engine.tensor_parallel_size=2",
        "in_process needs tensor_parallel_size 1",
        command="generate",
    ),
    _params("unknown_runner", "runner.kind=dask", "runner.kind", "dask", command="mi_sweep"),
    _params(
        "head_dim",
        "models.world-l.train.head_dim=16",
        "models.world-l.train",
        "head_dim 16",
        command="models",
    ),
    _params(
        "world_zero_organisations",
        "world.heldout.organisations=0",
        "world.heldout.organisations",
        command="world",
    ),
    _params("world_negative_cities", "world.train.cities=-3", "world.train.cities", command="world"),
    _params(
        "compression_rate_above_one",
        "compression.evaluation.rates=[0.5, 1.5]",
        "evaluation.rates.1",
        command="compression",
    ),
    _params(
        "compression_rate_zero",
        "compression.evaluation.rates=[0]",
        "evaluation.rates.0",
        command="compression",
    ),
    _params(
        "compression_unknown_method",
        "compression.evaluation.methods=[llmlingua3]",
        "compression.evaluation",
        "unknown compressor 'llmlingua3'",
        "did you mean 'llmlingua2'",
        command="compression",
    ),
    _params(
        "compression_unknown_prompt",
        "compression.teachers=[{name: world-l-keep, model: world-l, prompt: kep}]",
        "compression.teachers.0",
        "unknown prompt 'kep'",
        command="compression",
    ),
    _params(
        "compression_unknown_teacher",
        "compression.teacher=gpt4",
        "compression: teacher: 'gpt4' is not one of the teachers",
        command="compression",
    ),
    _params(
        "compression_unknown_scorer",
        "compression.scorer=gpt2",
        "compression.scorer: unknown model 'gpt2'",
        command="compression",
    ),
    _params(
        "entigraph_unknown_extractor",
        "entigraph.entities.extractors=[ner]",
        "entigraph.entities",
        "unknown extractor 'ner'",
        command="entigraph",
    ),
    _params(
        "entigraph_budget_above_one",
        "entigraph.cpt.budgets=[0.5, 2]",
        "entigraph.cpt.budgets.1",
        command="entigraph",
    ),
    _params(
        "entigraph_negative_budget",
        "entigraph.relations.budget_tokens=-1",
        "entigraph.relations.budget_tokens",
        command="entigraph",
    ),
    _params(
        "entigraph_unknown_kind",
        "entigraph.qa.kinds=[colour]",
        "unknown question kind 'colour'",
        command="entigraph",
    ),
    _params(
        "entigraph_unknown_base",
        "entigraph.cpt.base=gpt2",
        "entigraph.cpt.base: unknown model 'gpt2'",
        command="entigraph",
    ),
    _params(
        "mi_sweep_unknown_estimator",
        "mi_sweep.estimator=kde",
        "estimator",
        "unknown",
        "'kde'",
        command="mi_sweep",
    ),
    _params(
        "mi_sweep_too_many_others", "mi_sweep.other_contexts=64", "other_contexts: M = 64", command="mi_sweep"
    ),
    _params(
        "mi_sweep_unknown_dataset", "mi_sweep.datasets=[squad]", "unknown dataset 'squad'", command="mi_sweep"
    ),
    _params(
        "mi_sweep_unknown_compressor",
        "mi_sweep.compressors=[gpt2]",
        "mi_sweep.compressors.0: unknown model 'gpt2'",
        command="mi_sweep",
    ),
    _params(
        "decoding_unknown_benchmark",
        "decoding.benchmarks=[mmlu]",
        "decoding.benchmarks.0: unknown benchmark 'mmlu'",
        command="decoding",
    ),
    _params(
        "decoding_unknown_sampler",
        "decoding.settings=[{name: nucleus}]",
        "decoding.settings.0",
        "'nucleus'",
        command="decoding",
    ),
    _params(
        "decoding_setting_for_a_stray_model",
        "decoding.settings=[{name: greedy, models: [nope]}]",
        "settings.0.models: 'nope' is not in decoding.models",
        command="decoding",
    ),
    _params(
        "rl_run_unknown_model", "rl_run.model=gpt2", "rl_run.model: unknown model 'gpt2'", command="rl_run"
    ),
    _params(
        "rl_run_unknown_trl_argument",
        "rl_run.trl={num_generatons: 2}",
        "rl_run.trl",
        "num_generatons",
        command="rl_run",
    ),
    _params(
        "rl_run_no_checkpoint",
        "rl_run.save_every=100000",
        "save_every: 100000 exceeds steps",
        command="rl_run",
    ),
    _params(
        "rl_run_unknown_reward", "rl_run.reward=bleu", "reward: unknown verifier 'bleu'", command="rl_run"
    ),
    _params(
        "checkpoints_pass_k",
        "checkpoints.pass_k=[1, 16]",
        "pass_k: 16 exceeds samples 8",
        command="checkpoints",
    ),
    _params(
        "checkpoints_unknown_verifier",
        "checkpoints.verifier=bleu",
        "checkpoints.verifier: unknown verifier 'bleu'",
        command="checkpoints",
    ),
    _params(
        "report_unknown_job", "report.jobs=[world]", "report: jobs: unknown job 'world'", command="report"
    ),
    _params("unknown_backend", "engine.backend=tensorrt", "unknown engine 'tensorrt'", command="generate"),
    Case("unknown_flow", "params", _cmd("run", "nope"), ("unknown flow 'nope'",)),
    Case(
        "unknown_benchmark",
        "params",
        _cmd("bench", "enigne"),
        ("unknown benchmark 'enigne'", "did you mean 'engine'"),
    ),
    Case(
        "compare_unknown_job", "params", ("compare", "nope"), ("compare nope", "no MLflow experiment 'nope'")
    ),
    Case("compare_zero_runs", "params", ("compare", "world", "-n", "0"), ("compare -n: must be at least 1",)),
    # -- files: params files and the inputs a job reads -----------------------------------------
    Case(
        "params_file_missing",
        "file",
        ("params", "--params", "missing.yaml"),
        ("missing.yaml: file not found",),
    ),
    Case(
        "params_file_invalid_yaml",
        "file",
        ("params", "--params", "bad.yaml"),
        ("bad.yaml: invalid YAML at line",),
        _write({"bad.yaml": "profile: cpu\nmodels: [unclosed\n"}),
    ),
    Case(
        "params_file_not_a_mapping",
        "file",
        ("params", "--params", "bad.yaml"),
        ("bad.yaml: expected a mapping of sections",),
        _write({"bad.yaml": "- profile\n- models\n"}),
    ),
    Case(
        "params_file_not_utf8",
        "file",
        ("params", "--params", "bad.yaml"),
        ("bad.yaml: not UTF-8",),
        _write({"bad.yaml": b"profile: \xff\xfe\n"}),
    ),
    Case(
        "prompts_file_missing",
        "file",
        _cmd("run", "generate", sets=(*PROMPTS_FILE, "generate.prompts_file=prompts.txt")),
        ("prompts.txt: file not found",),
    ),
    Case(
        "prompts_file_empty",
        "file",
        _cmd("run", "generate", sets=(*PROMPTS_FILE, "generate.prompts_file=prompts.txt")),
        ("prompts.txt: no prompts in file",),
        _write({"prompts.txt": "\n  \n"}),
    ),
    Case(
        "prompts_jsonl_bad_line",
        "file",
        _cmd("run", "generate", sets=(*PROMPTS_FILE, "generate.prompts_file=prompts.jsonl")),
        ("prompts.jsonl:2", 'expected a JSON object with a "prompt" field'),
        _write({"prompts.jsonl": '{"prompt": "fine"}\n{"text": "no prompt field"}\n'}),
    ),
    Case(
        "prompts_file_not_utf8",
        "file",
        _cmd("run", "generate", sets=(*PROMPTS_FILE, "generate.prompts_file=prompts.txt")),
        ("prompts.txt: not UTF-8",),
        _write({"prompts.txt": b"caf\xe9\n"}),
    ),
    Case(
        "world_tables_missing",
        "file",
        _cmd("run", "mi_sweep", sets=(DUMMY,)),
        ("data/world: no documents.parquet; run `dvc repro world` first",),
    ),
    Case(
        "mi_sweep_dataset_missing",
        "file",
        _cmd("run", "mi_sweep", sets=(*MINE, DUMMY)),
        ("mine.jsonl: file not found",),
    ),
    Case(
        "mi_sweep_dataset_bad_line",
        "file",
        _cmd("run", "mi_sweep", sets=(*MINE, DUMMY)),
        ("mine.jsonl:2", "expected JSON with context, question, answer"),
        _write({"mine.jsonl": '{"context": "c", "question": "q", "answer": "a"}\n{"context": "c"}\n'}),
    ),
    Case(
        "mi_sweep_dataset_too_small",
        "file",
        _cmd("run", "mi_sweep", sets=(*MINE, DUMMY)),
        ("dataset mine: has 1 items, mi_sweep.contexts asks for 64",),
        _write({"mine.jsonl": '{"context": "c", "question": "q", "answer": "a"}\n'}),
    ),
    Case(
        "checkpoints_dataset_bad_jsonl",
        "file",
        _cmd("run", "checkpoints", sets=("checkpoints.series=series", "checkpoints.dataset=qa.jsonl", DUMMY)),
        ("qa.jsonl:1: is not valid JSON",),
        _write({**_series(step_1=_checkpoint()), "qa.jsonl": "{not json\n"}),
    ),
    Case(
        "corpus_package_missing",
        "file",
        _cmd("run", "corpus", sets=("corpus.required=true", "corpus.debian_root=nowhere")),
        ("corpus.sources: janeausten", "not found under nowhere"),
    ),
    _params("world_too_many_cities", "world.train.cities=100000", "cities exceed the 20000", command="world"),
    _params(
        "checkpoints_series_missing",
        "checkpoints.series=nowhere",
        "nowhere",
        "directory does not exist",
        command="checkpoints",
    ),
    # -- models: model folders and checkpoints ------------------------------------------------
    Case(
        "model_folder_without_config",
        "model",
        _cmd("run", "generate", sets=("models.smollm2-135m-instruct.path=empty-model",)),
        ("models.smollm2-135m-instruct.path: no model at empty-model (config.json missing)",),
        _write({"empty-model/README.md": "no weights here\n"}),
    ),
    Case(
        "model_package_missing",
        "model",
        _cmd(
            "run", "generate", sets=("generate.model=minilm-l6", "models.minilm-l6.package=no_such_pkg/model")
        ),
        ("models.minilm-l6.package: Python package 'no_such_pkg' is not installed",),
    ),
    Case(
        "checkpoint_without_config",
        "model",
        _cmd("run", "checkpoints", sets=("checkpoints.checkpoints=[{path: ckpt, step: 0}]", DUMMY)),
        ("ckpt: is not a model folder (no config.json)",),
        _write({"ckpt/tokenizer.json": "{}"}),
    ),
    Case(
        "checkpoint_series_empty",
        "model",
        _cmd("run", "checkpoints", sets=("checkpoints.series=series", DUMMY)),
        ("series: holds no checkpoint (no sub-folder with a config.json)",),
        _write({"series/notes.txt": "nothing\n"}),
    ),
    Case(
        "checkpoint_without_tokenizer",
        "model",
        _cmd("run", "checkpoints", sets=("checkpoints.series=series", DUMMY)),
        ("series/step_1: has no tokenizer file",),
        _write(_series(step_1=_checkpoint(tokenizer=None))),
    ),
    Case(
        "checkpoints_share_a_step",
        "model",
        _cmd("run", "checkpoints", sets=("checkpoints.series=series", DUMMY)),
        ("series/b_1: has step 1, as series/a_1 has",),
        _write(_series(a_1=_checkpoint(), b_1=_checkpoint())),
    ),
    Case(
        "checkpoint_bad_trainer_state",
        "model",
        _cmd("run", "checkpoints", sets=("checkpoints.series=series", DUMMY)),
        ("series/step_1/trainer_state.json: has no integer global_step",),
        _write(_series(step_1=_checkpoint(state='{"global_step": "ten"}'))),
    ),
    Case(
        "checkpoints_differ_in_tokenizer",
        "model",
        _cmd("run", "checkpoints", sets=("checkpoints.series=series", DUMMY)),
        ("series/step_2: has a different tokenizer than series/step_1",),
        _write(_series(step_1=_checkpoint(tokenizer='{"v": 1}'), step_2=_checkpoint(tokenizer='{"v": 2}'))),
    ),
]


def outputs(workdir: Path) -> set[Path]:
    """Files under the working directory's data/ and reports/ (what a job would leave behind)."""
    return {p for folder in ("data", "reports") for p in (workdir / folder).rglob("*") if p.is_file()}


def verdict(case: Case, returncode: int, stderr: str, workdir: Path, before: set[Path]) -> dict[str, Any]:
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    line = errors[0] if len(errors) == 1 else None
    one_line = line is not None and line.startswith(PREFIX) and "Traceback" not in stderr
    names = bool(line) and all(f in str(line) for f in case.fragments)
    wrote = sorted(str(p.relative_to(workdir)) for p in outputs(workdir) - before)
    return {
        "name": case.name,
        "kind": case.kind,
        "exit": returncode,
        "error": line if line is not None else stderr.strip()[-500:],
        "one_line": one_line,
        "names_culprit": names,
        "wrote": wrote,
        "clear": returncode != 0 and one_line and names and not wrote,
    }


def run_case(case: Case, workdir: Path, timeout: float = 600) -> dict[str, Any]:
    """`python -m flows.cli <argv>` in `workdir` after the case's setup."""
    if case.setup:
        case.setup(workdir)
    before = outputs(workdir)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", *case.command()],
        cwd=workdir,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result = verdict(case, done.returncode, done.stderr, workdir, before)
    return {**result, "seconds": round(time.perf_counter() - start, 2)}


@BENCHMARKS.register("reliability")
def reliability_bench(params: Params) -> dict[str, Any]:
    cases = []
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix=f"infopipe-{case.name}-") as tmp:
            cases.append(run_case(case, Path(tmp)))
    resumed = kill_resume()  # kill -9 a sweep at a random point, rerun, compare
    return {
        "bad_input_cases": len(cases),
        "clear_errors": sum(c["clear"] for c in cases),
        "unclear": [c["name"] for c in cases if not c["clear"]],
        "by_kind": {k: sum(c["kind"] == k for c in cases) for k in sorted({c.kind for c in CASES})},
        "kill_resume_identical": resumed["identical"],
        "kill_resume_max_relative_difference": resumed["max_relative_difference"],
        "kill_resume_redone_parts": resumed["redone_parts"],
        "kill_resume_duplicates": resumed["duplicate_rows"],
        "kill_resume": resumed,
        "cases": cases,
        "seconds": round(sum(c["seconds"] for c in cases), 1),
    }
