"""`infopipe bench repro`'s machinery on a small real git + DVC repository: a clean clone that
shares the source's cache, a forced reproduction timed per stage with the peak RSS of the process
tree, and a second reproduction that runs nothing."""

import subprocess
import sys

import pytest

from tasks.bench.repro import measure

# Stage `big` holds ~256 MB in a grandchild process (dvc -> sh -> python): the tree's peak sees it.
BIG = "import time; b = bytearray(2**28); time.sleep(2); open('big.txt', 'w').write('big')"
DVC_YAML = f"""
stages:
  small:
    cmd: echo small > small.txt
    outs: [small.txt]
  big:
    cmd: {sys.executable} -c "{BIG}"
    deps: [small.txt]
    outs: [big.txt]
"""


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.mark.heavy  # ~10 s: git clone, dvc repro twice
def test_a_clean_clone_reproduces_every_stage_then_nothing(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    _git(source, "init", "-q")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=source, check=True)
    (source / "dvc.yaml").write_text(DVC_YAML)
    _git(source, "add", "-A")
    _git(source, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pipeline")

    figures = measure(source, tmp_path / "clone")

    assert set(figures["stage_seconds"]) == {"small", "big"}
    assert figures["stage_seconds"]["big"] >= 2.0
    assert figures["cpu_profile_seconds"] >= sum(figures["stage_seconds"].values()) - 0.5
    assert figures["peak_rss_mb"] > 256
    assert figures["noop_stages_run"] == 0 and figures["status_clean_after"]
    assert (tmp_path / "clone" / "big.txt").read_text() == "big"
    # Outputs went to the source's cache: a `dvc checkout` there could use them.
    assert any((source / ".dvc" / "cache").rglob("*"))
