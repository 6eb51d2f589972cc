"""The Rephrase CPT baseline's requests: each document rewritten once per style by the relation
step's generator (Yang et al. 2024, sec. 4: "Rephrase CPT", the WRAP styles of Maini et al.
2024). They go to the engine in the relation step's batch and are stored with its rows
(kind `rephrase`), so a resumed run regenerates none of them."""

from collections.abc import Sequence

from tasks import prompts
from tasks.entigraph.config import RelationsConfig, RephraseConfig
from tasks.entigraph.relations import Request, request_seed

KIND = "rephrase"


def requests(
    docs: Sequence[tuple[str, str]], config: RephraseConfig, relations: RelationsConfig
) -> list[Request]:
    """One request per (doc_id, text) and style, seeded per document and style."""
    prompt = prompts.load(config.prompt)
    base = 0 if relations.sampling.seed is None else relations.sampling.seed
    return [
        Request(
            doc_id,
            KIND,
            (),
            prompt.render(style=style, document=text),
            prompt.tag,
            request_seed(base, doc_id, (KIND, style)),
        )
        for doc_id, text in docs
        for style in config.styles
    ]
