"""A keep/drop token classifier with transformers (LLMLingua-2): loading, its window, the
probability of keeping each token."""

from typing import Any

KEEP_LABELS = {0: "drop", 1: "keep"}


def load_token_classifier(source: str, num_labels: int = 2) -> tuple[Any, Any]:
    """A token classifier and its tokenizer: a trained keep/drop model, or an encoder to fine-tune
    (a new 2-label head is added to a plain encoder)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model = AutoModelForTokenClassification.from_pretrained(
        source,
        num_labels=num_labels,
        id2label=KEEP_LABELS,
        label2id={v: k for k, v in KEEP_LABELS.items()},
        trust_remote_code=False,
    )
    return model.eval(), AutoTokenizer.from_pretrained(source, trust_remote_code=False)


def window(model: Any, tokenizer: Any) -> int:
    """The longest input the encoder takes, special tokens included."""
    limits = [model.config.max_position_embeddings, tokenizer.model_max_length]
    return int(min(limit for limit in limits if limit and limit < 1_000_000))


def boundary_ids(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special ids an encoder puts around a sequence: [CLS] ... [SEP] or <s> ... </s>."""
    first = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    last = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    return ([first] if first is not None else []), ([last] if last is not None else [])


def keep_probs(model: Any, tokenizer: Any, chunks: list[list[int]], batch_size: int) -> list[list[float]]:
    """P(keep) of every token of each chunk (ids without special tokens), batched and padded."""
    import torch

    head, tail = boundary_ids(tokenizer)
    pad = tokenizer.pad_token_id or 0
    out: list[list[float]] = []
    for start in range(0, len(chunks), batch_size):
        batch = [head + c + tail for c in chunks[start : start + batch_size]]
        width = max(len(ids) for ids in batch)
        ids = torch.tensor([b + [pad] * (width - len(b)) for b in batch])
        mask = torch.tensor([[1] * len(b) + [0] * (width - len(b)) for b in batch])
        with torch.inference_mode():
            probs = model(input_ids=ids, attention_mask=mask).logits.float().softmax(-1)[..., 1]
        for row, chunk in enumerate(chunks[start : start + batch_size]):
            out.append(probs[row, len(head) : len(head) + len(chunk)].tolist())
    return out
