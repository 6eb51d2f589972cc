"""The transformers adapter: the only package that imports transformers (and tokenizers), one
module per concern.

loader      tokenizers and causal LMs of a ModelSpec; parameter counts from weight headers
builder     new models: GGUF dequantized to HF, the family's BPE tokenizer and fresh Llama
generation  batched generation, scoring and raw logits (the hf engine's numerics)
classifier  a keep/drop token classifier's probabilities (LLMLingua-2)
trainer     transformers' Trainer: the token classifier, continued pretraining

Every loader passes trust_remote_code: the spec's value where there is a ModelSpec, else False.
Left unset, transformers asks on stdin whether to run a repository's code.
"""

# Pinned by pyproject; recorded as an MLflow tag by tasks.tracking.
LIBRARY = "transformers"
