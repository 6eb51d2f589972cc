"""One set of CPU kernels on every x86 machine of a vendor, so that the same params give the same
numbers there.

torch picks its CPU kernels by the instruction set it finds: ATen's own (vectorised loops and
reductions), MKL's (matrix products) and oneDNN's. AVX-512 kernels sum in another order than AVX2
ones, and a 1e-8 difference at step 1 of training grows, through 5,000 steps, into another model:
world-l answered 79.5% of held-out single-hop questions when trained unpinned on an AVX-512 AMD
machine and 54.2% on an AVX2 one, from the same params (2026-12-07). Pinned to AVX2, which every
x86-64 CPU the project runs on has, the AVX-512 machine reproduced the AVX2 machine's losses and
figures bit for bit (README, "The model family").

Not across vendors: MKL applies `MKL_CBWR=AVX2` on Intel CPUs only (on others it keeps its
automatic branch; only COMPATIBLE, SSE2, is common to both and it trains 1.7x slower). An Intel
Xeon, pinned, differed from the AMD machines at step 25 under every branch tried and trained a
world-l that reads 94.2%.

The variables are read when each library first computes, so `pin()` runs when `tasks` is imported,
before any job touches torch; an explicitly set variable wins (e.g. to trade reproducibility for
AVX-512 speed on a worker of your own). They change nothing on a GPU.
"""

import os

PINNED = {
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's kernel dispatch (default: the best the CPU has)
    "MKL_CBWR": "AVX2",  # MKL's conditional numerical reproducibility branch
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN's highest instruction set
}


def pin() -> None:
    for name, value in PINNED.items():
        os.environ.setdefault(name, value)


def kernels() -> str:
    """What this process computes with, as a run tag: `ATEN_CPU_CAPABILITY=avx2,...`."""
    return ",".join(f"{name}={os.environ.get(name, 'unset')}" for name in PINNED)
