"""Verifiable rewards: a completion and its gold answer in, a reward in [0, 1] out. The same
function is GRPO's reward in stage `rl_run` and the accuracy of stage `checkpoints`.

`exact_match`  the normalised first line equals the normalised answer (tasks/answers.py)
`contains`     the normalised answer occurs in the first line
`f1`           SQuAD token F1 of the first line: partial credit for a partly right answer
"""

from collections.abc import Callable

from tasks import answers
from tasks.registry import Registry

Verifier = Callable[[str, str], float]
VERIFIERS: Registry[Verifier] = Registry("verifier")

VERIFIERS.register("exact_match")(answers.exact_match)
VERIFIERS.register("contains")(answers.contains)
VERIFIERS.register("f1")(answers.f1)
