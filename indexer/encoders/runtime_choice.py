"""Which runtime runs an encoder: pure, so the rule is unit-tested without torch.

On a CPU, ONNX Runtime with int8 MatMul weights (dynamic, per-channel) is the default:
about twice torch fp32's rate with retrieval quality within 0.01 of fp32 (docs/encoders.md).
On CUDA, torch with half precision (bf16) stays the choice: ONNX runs on the CPU only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RuntimeSetting = Literal["auto", "torch", "onnx", "onnx-int8"]
PrecisionSetting = Literal["auto", "fp32", "bf16"]
Runtime = Literal["torch", "onnx", "onnx-int8"]

CPU_DEFAULT: Runtime = "onnx-int8"
"""What ``auto`` runs on a CPU (chosen by ``mmrag eval`` on the postgresql-doc set)."""


class RuntimeUnavailable(ValueError):
    """The configured runtime cannot run on the configured device."""


@dataclass(frozen=True)
class RuntimeChoice:
    runtime: Runtime
    device: str
    """``cpu``, ``cuda``, ``cuda:1`` … (always ``cpu`` for the ONNX runtimes)."""
    bf16: bool
    """torch autocast to bf16 (never for ONNX)."""

    @property
    def name_suffix(self) -> str:
        """What the encoder's name carries because its vectors differ from torch fp32.

        ONNX fp32 computes the same function as torch fp32 (cosine ≥ 0.9999), so it keeps
        the plain model name and may write into a torch fp32 index; int8 and bf16 do not.
        """
        if self.runtime == "onnx-int8":
            return "@onnx-int8"
        return "@bf16" if self.bf16 else ""


def choose_runtime(
    runtime: RuntimeSetting,
    precision: PrecisionSetting,
    device: str,
    *,
    cuda_available: bool,
) -> RuntimeChoice:
    """The runtime, device and precision for these settings on this machine.

    - ``device=auto`` means CUDA when present, else the CPU; ``runtime=auto`` means torch
      on CUDA and :data:`CPU_DEFAULT` on a CPU.
    - torch's precision: ``auto`` is bf16 on CUDA and fp32 on a CPU.
    - An ONNX runtime asked for explicitly runs on the CPU when ``device=auto``; with an
      explicit CUDA device it is an error (ONNX runs on the CPU only here).
    """
    wants_cuda = device.startswith("cuda") or (device == "auto" and cuda_available)
    if runtime in ("onnx", "onnx-int8"):
        if device.startswith("cuda"):
            raise RuntimeUnavailable(
                f"MMRAG_ENCODER_RUNTIME={runtime} runs on the CPU only, but MMRAG_DEVICE="
                f"{device}: use MMRAG_ENCODER_RUNTIME=torch (half precision) on CUDA, or "
                "MMRAG_DEVICE=cpu"
            )
        if device not in ("auto", "cpu"):
            raise RuntimeUnavailable(f"MMRAG_ENCODER_RUNTIME={runtime} cannot run on {device}")
        return RuntimeChoice(runtime=runtime, device="cpu", bf16=False)
    if runtime == "auto" and not wants_cuda:
        if device not in ("auto", "cpu"):  # another torch device (mps, xpu …): torch
            return RuntimeChoice("torch", device, bf16=precision == "bf16")
        return RuntimeChoice(runtime=CPU_DEFAULT, device="cpu", bf16=False)
    chosen_device = ("cuda" if wants_cuda else "cpu") if device == "auto" else device
    bf16 = precision == "bf16" or (precision == "auto" and chosen_device.startswith("cuda"))
    return RuntimeChoice(runtime="torch", device=chosen_device, bf16=bf16)
