"""Making models with transformers: a GGUF file dequantized to a plain HF directory, the family's
byte-level BPE tokenizer, a freshly initialised Llama, and saving one."""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tasks.config import Dtype
from tasks.hf.loader import torch_dtype


def convert_gguf(gguf_dir: Path, gguf_file: str, out_dir: Path, save_dtype: Dtype) -> None:
    """Dequantize a GGUF causal LM into a plain HF directory (reference/assets.md recipe)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file=gguf_file, trust_remote_code=False)
    quant = AutoModelForCausalLM.from_pretrained(str(gguf_dir), gguf_file=gguf_file, trust_remote_code=False)
    config = quant.config
    if hasattr(config, "quantization_config"):
        # save_pretrained refuses models flagged as gguf-quantized; the weights are dequantized.
        delattr(config, "quantization_config")
    dtype = torch_dtype(save_dtype)
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
