"""`infopipe bench repro`: a full `dvc repro --force` of the cpu profile in a clean clone of HEAD,
then a second `dvc repro` that must run nothing: wall times, seconds per stage, and the peak RSS of
the whole process tree (DVC, the flows, vLLM's workers), sampled every half second.

The clone lives in .cache/bench-repro/ (kept for inspection) and shares this checkout's DVC cache,
so its run can become this checkout's: `make adopt` (tasks/bench/adoption.py).
Set-up is not timed: the clone gets this checkout's Debian texts (.cache/debian, `make install`).
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from tasks.bench.registry import BENCHMARKS, user_env
from tasks.errors import InfopipeError
from tasks.params import Params
from tasks.tracking import hardware, library_versions

CLONE = Path(".cache/bench-repro")
STAGE = re.compile(r"^Running stage '([^']+)'")


@BENCHMARKS.register("repro")
def repro_bench(params: Params) -> dict[str, Any]:
    source = Path.cwd().resolve()
    return {
        **measure(source, source / CLONE),
        "profile": params.profile,
        "cpus": os.cpu_count(),
        "hardware": hardware(),
        **library_versions(),
    }


def measure(source: Path, clone: Path) -> dict[str, Any]:
    """Clone `source` (a git + DVC repository) to `clone`, then time both reproductions there."""
    clone = _clean_clone(source, clone)
    cold = _timed(["dvc", "repro", "--force"], clone, clone.parent / "repro-force.log")
    noop = _timed(["dvc", "repro"], clone, clone.parent / "repro-noop.log")
    status = run_in(clone, ["dvc", "status", "--quiet"], check=False)
    return {
        "cpu_profile_seconds": cold["seconds"],
        "stage_seconds": cold["stage_seconds"],
        "peak_rss_mb": cold["peak_rss_mb"],
        "noop_repro_seconds": noop["seconds"],
        "noop_stages_run": len(noop["stage_seconds"]),
        "noop_peak_rss_mb": noop["peak_rss_mb"],
        "status_clean_after": status.returncode == 0,
        "commit": run_in(clone, ["git", "rev-parse", "HEAD"]).stdout.strip(),
    }


def _clean_clone(source: Path, clone: Path) -> Path:
    if run_in(source, ["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip():
        print("bench repro: uncommitted changes are not in the clone (it is HEAD)", file=sys.stderr)
    shutil.rmtree(clone, ignore_errors=True)
    clone.parent.mkdir(parents=True, exist_ok=True)
    run_in(source, ["git", "clone", "--quiet", str(source), str(clone)])
    run_in(clone, ["dvc", "cache", "dir", "--local", str(source / ".dvc" / "cache")])
    debian = source / ".cache" / "debian"
    if debian.is_dir():
        (clone / ".cache").mkdir(exist_ok=True)
        (clone / ".cache" / "debian").symlink_to(debian)
    return clone


def run_in(cwd: Path, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """`argv` in `cwd` as a user's shell would run it; an InfopipeError on failure when `check`."""
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, env=user_env())
    if check and done.returncode != 0:
        raise InfopipeError(" ".join(argv[:2]), f"exit {done.returncode}: {done.stderr.strip()[-300:]}")
    return done


def _timed(argv: list[str], cwd: Path, log: Path) -> dict[str, Any]:
    """Run `argv`, streaming its output to `log`; time each 'Running stage' to the next line of that kind."""
    stages: dict[str, float] = {}
    current: tuple[str, float] | None = None
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as sink:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        peak = _PeakRss(proc.pid)
        assert proc.stdout is not None
        for line in proc.stdout:
            sink.write(line)
            sink.flush()
            found = STAGE.match(line)
            if found:
                now = time.perf_counter()
                if current:
                    stages[current[0]] = now - current[1]
                current = (found.group(1), now)
        code = proc.wait()
    seconds = time.perf_counter() - start
    if current:
        stages[current[0]] = start + seconds - current[1]
    peak.stop()
    if code != 0:
        raise InfopipeError(" ".join(argv), f"exit {code}; see {log}")
    return {"seconds": seconds, "stage_seconds": stages, "peak_rss_mb": peak.mb}


class _PeakRss:
    """Sample the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.mb = 0.0
        self._root, self._every, self._done = psutil.Process(pid), every, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.is_set():
            total = 0
            with contextlib.suppress(psutil.Error):  # the root has exited
                for proc in [self._root, *self._root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):  # a child exited between the two calls
                        total += proc.memory_info().rss
            self.mb = max(self.mb, total / 2**20)
            self._done.wait(self._every)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
