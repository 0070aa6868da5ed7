"""Exporting encoders to ONNX (torch's exporter) and quantising them (onnxruntime's).

Quantisation is dynamic int8, per output channel, of the MatMul weights only: measured on
real chunks it keeps MiniLM's vectors at cosine ≥ 0.98 to fp32 (mean 0.994) at about
twice the speed, while quantising every op drifts to 0.84 (docs/encoders.md).

transformers 5 models return output objects and take keyword inputs, which the legacy
exporter cannot trace directly, hence the small wrapper modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

OPSET = 17
TEXT_FILE = "text.onnx"
VISION_FILE = "vision.onnx"


def quantise_matmul(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        source,
        target,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        weight_type=QuantType.QInt8,
    )


class _Keywords(torch.nn.Module):
    """Calls ``method`` of ``model`` with positional inputs passed on as keywords and
    returns one tensor (``attribute`` of the output, or the output itself)."""

    def __init__(self, model: Any, method: str, names: list[str], attribute: str | None) -> None:
        super().__init__()
        self.model = model
        self._method = method
        self._names = names
        self._attribute = attribute

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        output = getattr(self.model, self._method)(**dict(zip(self._names, inputs, strict=True)))
        if isinstance(output, torch.Tensor):
            return output
        tensor = getattr(output, self._attribute or "pooler_output")
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{self._method} returned no tensor as {self._attribute}")
        return tensor


def _export(
    module: torch.nn.Module,
    example: dict[str, torch.Tensor],
    dynamic: dict[str, dict[int, str]],
    output_name: str,
    target: Path,
) -> None:
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            module.eval(),
            tuple(example.values()),
            str(target),
            input_names=list(example),
            output_names=[output_name],
            dynamic_axes={**dynamic, output_name: {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
            external_data=False,
        )


def _finish(fp32: Path, target: Path, *, quantise: bool) -> None:
    if quantise:
        quantise_matmul(fp32, target)
        fp32.unlink()
    else:
        fp32.rename(target)


def export_text_transformer(
    model_dir: Path, input_names: list[str], output: Path, *, quantise: bool
) -> dict[str, object]:
    """The transformer of a sentence-transformers model (token embeddings out, pooling is
    done outside) as ``output/text.onnx``."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    example = {name: torch.ones((2, 8), dtype=torch.long) for name in input_names}
    if "token_type_ids" in example:
        example["token_type_ids"] = torch.zeros((2, 8), dtype=torch.long)
    wrapper = _Keywords(model, "forward", input_names, "last_hidden_state")
    dynamic = {name: {0: "batch", 1: "tokens"} for name in input_names}
    fp32 = output / "text-fp32.onnx"
    _export(wrapper, example, dynamic, "token_embeddings", fp32)
    _finish(fp32, output / TEXT_FILE, quantise=quantise)
    return {"model": str(model_dir), "inputs": input_names, "quantised": quantise}


def export_clip_towers(
    model_dir: Path, text_inputs: list[str], output: Path, *, quantise: bool
) -> dict[str, object]:
    """A CLIP-style model's projected text and image features as ``text.onnx`` and
    ``vision.onnx`` (normalisation is done outside)."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    text_example = {name: torch.ones((2, 8), dtype=torch.long) for name in text_inputs}
    text = _Keywords(model, "get_text_features", text_inputs, "pooler_output")
    fp32 = output / "text-fp32.onnx"
    _export(text, text_example, {n: {0: "batch", 1: "tokens"} for n in text_inputs}, "f", fp32)
    _finish(fp32, output / TEXT_FILE, quantise=quantise)
    vision_config = model.config.vision_config
    size = int(vision_config.image_size)
    pixels = torch.zeros((2, int(vision_config.num_channels), size, size))
    vision = _Keywords(model, "get_image_features", ["pixel_values"], "pooler_output")
    fp32 = output / "vision-fp32.onnx"
    _export(vision, {"pixel_values": pixels}, {"pixel_values": {0: "batch"}}, "f", fp32)
    _finish(fp32, output / VISION_FILE, quantise=quantise)
    return {"model": str(model_dir), "text_inputs": text_inputs, "quantised": quantise}
