"""The log-likelihoods behind every estimator, through `engine.score`.

For sample i (context x_i, question q_i, compression z_i) and each context j in {i} + J(i), the
scorer teacher-forces z_i after the compressor's prompt built from (x_j, q_i). All N x (M + 1)
requests go to the engine as one batch, ordered by prompt, so a backend with prefix caching
(vLLM) computes each distinct prompt prefix once rather than once per pair.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from tasks import prompts
from tasks.engines import Engine
from tasks.errors import InfopipeError
from tasks.mi.base import LogLikelihoods


@dataclass(frozen=True)
class Sample:
    context: str  # x
    question: str  # q
    compression: str  # z, as the compressor wrote it


def log_likelihoods(
    engine: Engine, samples: Sequence[Sample], contexts: Sequence[Sequence[int]], prompt: str = "notes"
) -> LogLikelihoods:
    """log p(z_i | x_j, q_i) for j = i and for the other contexts `contexts[i]`."""
    template = prompts.load(prompt)
    z_ids = [engine.tokenizer(s.compression, add_special_tokens=False)["input_ids"] for s in samples]
    for i, ids in enumerate(z_ids):
        if not ids:
            raise InfopipeError(f"compression {i}", "has zero tokens: its log-likelihood is undefined")
    pairs = [(i, j) for i in range(len(samples)) for j in [i, *contexts[i]]]
    texts = {
        (i, j): template.render(document=samples[j].context, question=samples[i].question) for i, j in pairs
    }
    order = sorted(pairs, key=lambda p: (texts[p], p))
    scores = engine.score([texts[p] for p in order], [z_ids[p[0]] for p in order])
    total = {p: sum(s) for p, s in zip(order, scores, strict=True)}
    return LogLikelihoods(
        own=[total[(i, i)] for i in range(len(samples))],
        others=[[total[(i, j)] for j in contexts[i]] for i in range(len(samples))],
        tokens=[len(ids) for ids in z_ids],
    )
