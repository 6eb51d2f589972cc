"""Every bad input of tasks/bench/reliability.py's table is a one-line error naming the culprit,
exit code 2, and nothing under data/ or reports/. Most cases run in this process through
`flows.cli.main` (under the session's Prefect harness); SUBPROCESS ones as a user's own process."""

import pytest

from flows.cli import main
from tasks.bench.reliability import CASES, outputs, run_case, verdict

from .conftest import fresh_workdir

# One of each kind, and one that fails inside a flow run: a real `python -m flows.cli`.
SUBPROCESS = {
    "unknown_key",
    "params_file_invalid_yaml",
    "compare_unknown_job",
    "checkpoint_without_tokenizer",
}


@pytest.fixture(scope="module", autouse=True)
def _prefect_logging(prefect_harness):
    """Prefect's log handlers bind the stderr of the moment they are set up: set them up now, not
    under the first case's capsys (closed after that case)."""
    from flows.runtime import quiet_user_errors

    quiet_user_errors()


def test_the_table_covers_every_job_and_kind():
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.kind for c in CASES} == {"params", "file", "model"}
    flows = {c.argv[1] for c in CASES if c.argv[0] == "run"}
    jobs = {"world", "corpus", "models", "generate", "compression", "entigraph", "mi_sweep", "decoding"}
    assert flows >= jobs | {"rl_run", "checkpoints", "report"}
    assert {c.name for c in CASES} >= SUBPROCESS


def _explain(result: dict) -> str:
    return "\n".join(f"{k}: {v}" for k, v in result.items())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path, capsys):
    if case.name in SUBPROCESS:
        result = run_case(case, tmp_path)
    else:
        with fresh_workdir(tmp_path):
            if case.setup:
                case.setup(tmp_path)
            before = outputs(tmp_path)
            capsys.readouterr()
            code = main(case.command())
            result = verdict(case, code, capsys.readouterr().err, tmp_path, before)
    assert result["exit"] == 2, _explain(result)
    assert result["clear"], _explain(result)
