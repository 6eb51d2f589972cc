"""The same params give the same numbers on every x86 machine: torch's CPU kernels are pinned to
AVX2 as soon as `tasks` is imported (tasks/numerics.py)."""

import os
import subprocess
import sys

from tasks.numerics import PINNED

# torch's own dispatch, and what MKL and oneDNN read when they first compute (on an AVX2-only CPU
# the capability is AVX2 anyway: the variables show the pin there).
PROBE = (
    "import os, tasks, torch; "
    "print(torch.backends.cpu.get_cpu_capability(), os.environ['MKL_CBWR'], os.environ['ONEDNN_MAX_CPU_ISA'])"
)


def _capability(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in PINNED}
    done = subprocess.run([sys.executable, "-c", PROBE], env=clean | env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_tasks_pins_torch_kernels_to_avx2_whatever_the_cpu_has():
    assert _capability() == "AVX2 AVX2 AVX2"


def test_an_explicit_choice_wins():
    assert _capability(ATEN_CPU_CAPABILITY="default") == "DEFAULT AVX2 AVX2"
