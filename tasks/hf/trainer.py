"""Training with transformers' Trainer: the LLMLingua-2 token classifier and continued
pretraining of a causal LM, on `device` (params' engine.hf_device)."""

import shutil
from pathlib import Path
from typing import Any

from tasks.hf.classifier import load_token_classifier, window
from tasks.hf.loader import torch_dtype


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
    device: str = "cpu",
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
        use_cpu=device == "cpu",
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
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    set_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype("float32"), trust_remote_code=False)
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
