"""Step 1: salient entities of each source document, by registered extractors.

`llm`    the generator LLM answers the paper's instruction with JSON {"summary", "entities"};
         parsing is strict, a malformed answer is re-asked (`retries` times, each a new seed),
         then recorded as a failure with its reason. Never an unbounded loop.
`family` a model trained on the world's `entities` role ("; "-separated names).
`spacy`  named entities of spaCy's pipeline: the baseline.

Every extractor runs over all documents at once (one engine batch per attempt).
"""

import json
import re
from collections.abc import Sequence

from tasks import nlp, prompts
from tasks.engines import open_engine
from tasks.entigraph.config import EntigraphParams
from tasks.entigraph.extraction import EXTRACTORS, Extraction

SPACY_LABELS = ("PERSON", "ORG", "GPE", "LOC", "PRODUCT", "FAC", "NORP", "WORK_OF_ART", "EVENT")
JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def clean(names: Sequence[str], limit: int) -> tuple[str, ...]:
    """Stripped, non-empty, case-insensitively deduplicated names, at most `limit`, in order."""
    seen: dict[str, str] = {}
    for name in names:
        name = " ".join(name.split()).strip(" .,;:\"'")
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return tuple(list(seen.values())[:limit])


def parse_json(text: str) -> tuple[str, list[str]]:
    """(summary, entities) of the paper's JSON answer; a ValueError says what is wrong."""
    match = JSON_OBJECT.search(text)
    if not match:
        raise ValueError("no JSON object")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("JSON is not an object")
    entities, summary = data.get("entities"), data.get("summary")
    if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
        raise ValueError('"entities" is not a list of strings')
    if not isinstance(summary, str):
        raise ValueError('"summary" is not a string')
    return summary.strip(), entities


@EXTRACTORS.register("llm")
def llm(params: EntigraphParams, texts: Sequence[str]) -> list[Extraction]:
    config = params.entigraph.entities
    engine = open_engine(params, config.model)
    prompt = prompts.load(config.prompt)
    base = params.engine.seed if config.sampling.seed is None else config.sampling.seed
    results: dict[int, Extraction] = {}
    spent = [0] * len(texts)
    errors = [""] * len(texts)
    pending = list(range(len(texts)))
    for attempt in range(config.retries + 1):
        if not pending:
            break
        outputs = engine.generate(
            [prompt.render(document=texts[i]) for i in pending],
            config.sampling,
            "left",
            seeds=[base + 1000 * attempt + i for i in pending],
        )
        still = []
        for i, out in zip(pending, outputs, strict=True):
            spent[i] += len(out.token_ids)
            try:
                summary, names = parse_json(out.text)
                entities = clean(names, config.max_entities)
                if not entities:
                    raise ValueError("no entities")
            except ValueError as err:
                errors[i] = str(err)
                still.append(i)
                continue
            results[i] = Extraction(entities, summary or None, attempt + 1, None, spent[i])
        pending = still
    for i in pending:
        results[i] = Extraction((), None, config.retries + 1, errors[i], spent[i])
    return [results[i] for i in range(len(texts))]


@EXTRACTORS.register("family")
def family(params: EntigraphParams, texts: Sequence[str]) -> list[Extraction]:
    config = params.entigraph.entities
    engine = open_engine(params, config.family_model or "")
    prompt = prompts.load("entities")
    sampling = config.sampling.model_copy(update={"temperature": 0.0, "max_tokens": 64})
    outputs = engine.generate([prompt.render(document=t) for t in texts], sampling, "left")
    results = []
    for out in outputs:
        entities = clean(out.text.split("\n")[0].split(";"), config.max_entities)
        error = None if entities else "no entities"
        results.append(Extraction(entities, None, 1, error, len(out.token_ids)))
    return results


@EXTRACTORS.register("spacy")
def spacy(params: EntigraphParams, texts: Sequence[str]) -> list[Extraction]:
    limit = params.entigraph.entities.max_entities
    results = []
    for found in nlp.entities(list(texts)):
        entities = clean([name for name, label, _, _ in found if label in SPACY_LABELS], limit)
        results.append(Extraction(entities, None, 1, None if entities else "no entities", 0))
    return results


def precision_recall(found: Sequence[str], truth: Sequence[str]) -> tuple[float | None, float | None]:
    """Entity precision and recall: a found name matches a true one when equal ignoring case
    and surrounding punctuation (a found name of several true ones matches none). None for
    both without ground truth."""
    if not truth:
        return None, None
    norm = {n.lower() for n in clean(truth, len(truth))}
    hits = {n.lower() for n in found} & norm
    precision = len(hits) / len(found) if found else 0.0
    recall = len(hits) / len(norm)
    return precision, recall
