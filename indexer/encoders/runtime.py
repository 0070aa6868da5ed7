"""Choosing device, precision and threads for torch (imported only by the encoders)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch

from indexer.encoders.settings import EncoderSettings


def choose_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def use_bf16(settings: EncoderSettings, device: torch.device) -> bool:
    if settings.precision == "auto":
        return device.type == "cuda"
    return settings.precision == "bf16"


def configure_threads(settings: EncoderSettings) -> None:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    torch.set_num_threads(settings.threads or max(1, usable or 1))


@contextlib.contextmanager
def inference(device: torch.device, bf16: bool) -> Iterator[None]:
    with torch.inference_mode():
        if bf16:
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
                yield
        else:
            yield


def features(output: Any) -> torch.Tensor:
    """transformers 5 returns a model output whose ``pooler_output`` holds the projected
    features; older versions return the tensor itself."""
    tensor = output if isinstance(output, torch.Tensor) else output.pooler_output
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"the model returned {type(tensor).__name__}, not a tensor of features")
    return tensor
