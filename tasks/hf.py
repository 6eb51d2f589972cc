"""The transformers adapter: the only module that imports transformers.

Every loader passes trust_remote_code: the spec's value where there is a ModelSpec, else False.
Left unset, transformers asks on stdin whether to run a repository's code."""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tasks.config import Dtype, ModelSpec, SamplingConfig

# Pinned by pyproject; recorded as an MLflow tag by tasks.tracking.
LIBRARY = "transformers"


def _torch_dtype(dtype: Dtype) -> Any:
    import torch

    return "auto" if dtype == "auto" else getattr(torch, dtype)


def load_tokenizer(source: str, spec: ModelSpec) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(
        source, revision=spec.revision, trust_remote_code=spec.trust_remote_code
    )


def load_causal_lm(source: str, spec: ModelSpec, device: str = "cpu") -> Any:
    from transformers import AutoModelForCausalLM

    model: Any = AutoModelForCausalLM.from_pretrained(
        source,
        revision=spec.revision,
        dtype=_torch_dtype(spec.dtype),
        trust_remote_code=spec.trust_remote_code,
    )
    return model.to(device).eval()


def convert_gguf(gguf_dir: Path, gguf_file: str, out_dir: Path, save_dtype: Dtype) -> None:
    """Dequantize a GGUF causal LM into a plain HF directory (reference/assets.md recipe)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file=gguf_file, trust_remote_code=False)
    quant = AutoModelForCausalLM.from_pretrained(str(gguf_dir), gguf_file=gguf_file, trust_remote_code=False)
    config = quant.config
    if hasattr(config, "quantization_config"):
        # save_pretrained refuses models flagged as gguf-quantized; the weights are dequantized.
        delattr(config, "quantization_config")
    dtype = _torch_dtype(save_dtype)
    plain = AutoModelForCausalLM.from_config(config, dtype=dtype)
    plain.load_state_dict(quant.state_dict())
    plain.tie_weights()
    plain.generation_config = quant.generation_config
    plain.save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))


SPECIAL = "<|endoftext|>"  # bos, eos and pad of the family's tokenizer


def train_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: Path, max_len: int) -> Any:
    """A byte-level BPE tokenizer (GPT-2 style) learned from `texts`, saved in HF format.

    It prepends its special token as BOS, so vLLM and transformers encode prompts alike."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    bpe.post_processor = processors.TemplateProcessing(
        single=f"{SPECIAL} $A", special_tokens=[(SPECIAL, bpe.token_to_id(SPECIAL))]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=SPECIAL,
        eos_token=SPECIAL,
        pad_token=SPECIAL,
        model_max_length=max_len,
    )
    tokenizer.save_pretrained(str(out_dir))
    return tokenizer


def load_plain_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)


def new_llama(tokenizer: Any, hidden: int, layers: int, head_dim: int, max_len: int) -> Any:
    """A freshly initialised Llama causal LM (tied embeddings, MLP 4x hidden) for `tokenizer`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    special = tokenizer.convert_tokens_to_ids(SPECIAL)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=hidden // head_dim,
        num_key_value_heads=hidden // head_dim,
        head_dim=head_dim,
        max_position_embeddings=max_len,
        tie_word_embeddings=True,
        bos_token_id=special,
        eos_token_id=special,
        pad_token_id=special,
    )
    return LlamaForCausalLM(config)


def save_model(model: Any, tokenizer: Any, out_dir: Path) -> None:
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))


def generate(
    model: Any,
    tokenizer: Any,
    prompt_ids: list[list[int]],
    sampling: SamplingConfig,
    seeds: list[int],
    batch_size: int,
) -> list[dict[str, Any]]:
    """Left-padded batched `model.generate` with raw logits -> chosen, top-k and entropy per step.

    Greedy requests run in batches; sampled ones one at a time under their own seed, so a
    request's sample does not depend on its neighbours (the same contract as the vllm backend).
    """
    import torch

    step = batch_size if sampling.greedy else 1
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = set(_as_list(model.generation_config.eos_token_id)) if not sampling.ignore_eos else set()
    results = []
    for start in range(0, len(prompt_ids), step):
        batch = prompt_ids[start : start + step]
        width = max(len(ids) for ids in batch)
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch])
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch])
        torch.manual_seed(seeds[start])
        with torch.inference_mode():
            out = model.generate(
                input_ids=input_ids.to(model.device),
                attention_mask=mask.to(model.device),
                max_new_tokens=sampling.max_tokens,
                # transformers has no ignore_eos: holding EOS back until max_tokens is the closest.
                min_new_tokens=sampling.max_tokens if sampling.ignore_eos else sampling.min_tokens or None,
                **_sampling_kwargs(sampling),
                eos_token_id=sorted(eos) or None,
                pad_token_id=pad,
                stop_strings=list(sampling.stop) or None,
                tokenizer=tokenizer if sampling.stop else None,
                output_logits=True,
                return_dict_in_generate=True,
            )
        logp = torch.log_softmax(torch.stack(out.logits, dim=1).float(), dim=-1)  # [B, T, V], raw
        for row, ids in enumerate(batch):
            results.append(
                _row(out.sequences[row, width:].tolist(), logp[row], ids, eos, tokenizer, sampling)
            )
    return results


def _sampling_kwargs(sampling: SamplingConfig) -> dict[str, Any]:
    if sampling.sampler is not None:  # our sampler owns temperature and truncation
        processor = _sampler_processor(sampling.sampler)
        return {
            "do_sample": True,
            "temperature": 1.0,
            "top_p": 1.0,
            "top_k": 0,
            "logits_processor": processor,
        }
    if sampling.temperature == 0.0:
        return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    return {
        "do_sample": True,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,  # 0 = off, as in vLLM (None would mean the model's default)
        "min_p": sampling.min_p or None,
    }


def _sampler_processor(setting: Any) -> Any:
    """A tasks/decoding sampler as a transformers logits processor (one per generate call)."""
    from transformers import LogitsProcessor, LogitsProcessorList

    from tasks.decoding import build, process

    sampler = build(setting)

    class SamplerProcessor(LogitsProcessor):
        def __init__(self) -> None:
            self.states: list[Any] | None = None

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if self.states is None:
                self.states = [sampler.new_state() for _ in range(scores.shape[0])]
            elif sampler.stateful:  # the token each row drew from the scores returned last
                for state, token in zip(self.states, input_ids[:, -1].tolist(), strict=True):
                    sampler.observe(state, token)
            return process(scores.float(), sampler, setting, self.states)

    return LogitsProcessorList([SamplerProcessor()])


def _row(
    new: list[int], logp: Any, prompt: list[int], eos: set[int], tokenizer: Any, sampling: SamplingConfig
) -> dict[str, Any]:
    import torch

    end = next((i + 1 for i, t in enumerate(new) if t in eos), len(new))
    finish = "stop" if any(t in eos for t in new) else "length"
    text = tokenizer.decode(new[:end], skip_special_tokens=True)
    hits = [text.index(stop) for stop in sampling.stop if stop in text]
    if hits:  # vLLM's convention: end on the token completing a stop string; the text leaves it out
        decoded = (tokenizer.decode(new[:j], skip_special_tokens=True) for j in range(1, end + 1))
        end = next(j for j, part in enumerate(decoded, 1) if any(stop in part for stop in sampling.stop))
        text, finish = text[: min(hits)], "stop"
    new, logp = new[:end], logp[:end]
    chosen = logp.gather(-1, torch.tensor(new, dtype=torch.long).unsqueeze(-1)).squeeze(-1)
    tops: list[dict[int, float]] = [{} for _ in new]
    if sampling.logprobs:
        values, indices = logp.topk(sampling.logprobs, dim=-1)
        tops = [dict(zip(i.tolist(), v.tolist(), strict=True)) for i, v in zip(indices, values, strict=True)]
    entropy = (-(logp.exp() * logp).nan_to_num().sum(-1)).tolist() if sampling.entropy else None
    return {
        "prompt_ids": prompt,
        "text": text,
        "token_ids": new,
        "logprobs": chosen.tolist(),
        "top_logprobs": tops,
        "entropy": entropy,
        "tail_mass": [0.0] * len(new) if sampling.entropy else None,
        "finish_reason": finish,
    }


def score(
    model: Any, prompt_ids: list[list[int]], cont_ids: list[list[int]], batch_size: int
) -> list[list[float]]:
    """Right-padded forward passes; log p of each continuation token given everything before it."""
    import torch

    scores: list[list[float]] = []
    pairs = list(zip(prompt_ids, cont_ids, strict=True))
    for start in range(0, len(pairs), batch_size):
        batch = [c + k for c, k in pairs[start : start + batch_size]]
        width = max(len(ids) for ids in batch)
        input_ids = torch.tensor([ids + [0] * (width - len(ids)) for ids in batch])
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
        with torch.inference_mode():
            logits = model(input_ids=input_ids.to(model.device), attention_mask=mask.to(model.device)).logits
        for row, (ctx, cont) in enumerate(pairs[start : start + batch_size]):
            if not cont:
                scores.append([])
                continue
            span = logits[row, len(ctx) - 1 : len(ctx) + len(cont) - 1].float()
            logp = torch.log_softmax(span, dim=-1)
            scores.append(logp.gather(-1, torch.tensor(cont).unsqueeze(-1)).squeeze(-1).tolist())
    return scores


def logits(model: Any, ids: list[int]) -> Any:
    """Raw float32 logits [len(ids), vocab]: row t is the next-token distribution after ids[:t+1]."""
    import torch

    with torch.inference_mode():
        out = model(input_ids=torch.tensor([ids], device=model.device)).logits[0]
    return out.float().cpu()


def _as_list(value: Any) -> list[int]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [int(value)]


# -- token classification (LLMLingua-2's keep/drop classifier) --------------------------------
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


def train_token_classifier(
    base: str,
    train: list[tuple[list[str], list[int]]],
    valid: list[tuple[list[str], list[int]]],
    out_dir: Path,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> dict[str, float]:
    """Fine-tune `base` on word-labelled chunks with transformers' Trainer (LLMLingua-2 recipe).

    Every sub-word inherits its word's label; the model with the best validation token accuracy
    is kept and saved to `out_dir`. Returns the final validation metrics."""
    import numpy as np
    from transformers import DataCollatorForTokenClassification, Trainer, TrainingArguments, set_seed

    set_seed(seed)
    model, tokenizer = load_token_classifier(base)
    limit = window(model, tokenizer)

    def encode(rows: list[tuple[list[str], list[int]]]) -> list[dict[str, list[int]]]:
        out = []
        for words, labels in rows:
            enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=limit)
            tags = [-100 if w is None else labels[w] for w in enc.word_ids()]
            out.append(
                {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": tags}
            )
        return out

    def metrics(pred: Any) -> dict[str, float]:
        logits, labels = pred
        guess, mask = logits.argmax(-1), labels != -100
        tp = float(((guess == 1) & (labels == 1) & mask).sum())
        precision = tp / max(float(((guess == 1) & mask).sum()), 1.0)
        recall = tp / max(float(((labels == 1) & mask).sum()), 1.0)
        return {
            "accuracy": float((guess == labels)[mask].mean()) if mask.any() else float("nan"),
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / max(precision + recall, 1e-12),
            "keep_share": float(np.mean(labels[mask] == 1)) if mask.any() else float("nan"),
        }

    args = TrainingArguments(
        output_dir=str(out_dir.parent / f".{out_dir.name}.trainer"),
        num_train_epochs=epochs,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        learning_rate=lr,
        optim="adamw_torch",
        weight_decay=0.0,
        lr_scheduler_type="constant",
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model="accuracy",
        report_to=[],
        seed=seed,
        data_seed=seed,
        logging_strategy="epoch",
        disable_tqdm=True,
        use_cpu=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=encode(train),
        eval_dataset=encode(valid),
        data_collator=DataCollatorForTokenClassification(tokenizer),
        compute_metrics=metrics,
    )
    trainer.train()
    final = {k.removeprefix("eval_"): float(v) for k, v in trainer.evaluate().items()}
    trainer.save_model(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    import shutil

    shutil.rmtree(str(args.output_dir), ignore_errors=True)
    return final


def train_causal_lm(
    base: str,
    blocks: list[list[int]],
    out_dir: Path,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    warmup: float,
    weight_decay: float,
    seed: int,
    device: str = "cpu",
) -> dict[str, float]:
    """Continue pretraining the causal LM at `base` on fixed-length token blocks with
    transformers' Trainer (cosine schedule, AdamW), save it to `out_dir`; returns the last loss."""
    import shutil

    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    set_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=_torch_dtype("float32"), trust_remote_code=False)
    tokenizer = AutoTokenizer.from_pretrained(base, trust_remote_code=False)
    work = out_dir.parent / f".{out_dir.name}.trainer"
    args = TrainingArguments(
        output_dir=str(work),
        num_train_epochs=epochs,
        per_device_train_batch_size=batch_size,
        learning_rate=lr,
        lr_scheduler_type="cosine",
        warmup_steps=warmup,  # a float below 1 is a share of the steps
        weight_decay=weight_decay,
        optim="adamw_torch",
        save_strategy="no",
        report_to=[],
        seed=seed,
        data_seed=seed,
        logging_strategy="epoch",
        disable_tqdm=True,
        use_cpu=device == "cpu",
    )
    data = [{"input_ids": b, "attention_mask": [1] * len(b), "labels": b} for b in blocks]
    trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=default_data_collator)
    result = trainer.train()
    trainer.save_model(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    shutil.rmtree(work, ignore_errors=True)
    return {"train_loss": float(result.training_loss), "steps": float(result.global_step)}


def parameters(source: str, revision: str | None = None) -> int:
    """Parameters of a model from its safetensors headers (no weights loaded): a local
    directory's files, else the Hub's metadata of `source` (gpu profile)."""
    import json
    import struct

    files = sorted(Path(source).glob("*.safetensors")) if Path(source).is_dir() else []
    if not files:
        from huggingface_hub import get_safetensors_metadata

        return int(sum(get_safetensors_metadata(source, revision=revision).parameter_count.values()))
    total = 0
    for path in files:
        with path.open("rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for dim in entry["shape"]:
                    count *= dim
                total += count
    return total
