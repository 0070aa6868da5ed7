"""A tiny, randomly initialised CLIP, for tests and benchmarks only.

No CLIP weights can be downloaded here, so the CLIP code path is exercised with a model
built from a ``CLIPConfig`` and saved to a directory, then loaded through the same loader
as real weights. It proves loading, batching, shapes, normalisation, mappings and the
pipeline. Its vectors mean nothing: never use it for anything that claims quality.
"""

from __future__ import annotations

from pathlib import Path

TINY_CLIP_DIMENSIONS = 32


def build_tiny_random_clip(directory: Path, *, seed: int = 0) -> Path:
    import torch
    from transformers import AutoTokenizer, CLIPConfig, CLIPImageProcessor, CLIPModel

    from indexer.encoders.model_files import resolve_model_location

    torch.manual_seed(seed)
    # The text tower reuses MiniLM's WordPiece tokenizer (it ships offline); CLIP's own
    # BPE vocabulary does not.
    tokenizer = AutoTokenizer.from_pretrained(
        resolve_model_location("sentence-transformers/all-MiniLM-L6-v2")
    )
    config = CLIPConfig(
        text_config={
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "vocab_size": tokenizer.vocab_size,
            "max_position_embeddings": 77,
            "bos_token_id": tokenizer.cls_token_id,
            "eos_token_id": tokenizer.sep_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 64,
            "patch_size": 16,
        },
        projection_dim=TINY_CLIP_DIMENSIONS,
    )
    directory.mkdir(parents=True, exist_ok=True)
    CLIPModel(config).save_pretrained(directory)
    tokenizer.model_max_length = 77
    tokenizer.save_pretrained(directory)
    CLIPImageProcessor(
        size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64}
    ).save_pretrained(directory)
    return directory
