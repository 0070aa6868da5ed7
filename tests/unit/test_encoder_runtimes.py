"""Pure logic of the encoder runtimes: choosing one, keying the export cache, building an
export once, reading a model's pooling, pooling itself."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from indexer.encoders.onnx_cache import (
    MARKER_FILE,
    ensure_built,
    export_dir_name,
    is_built,
    model_fingerprint,
)
from indexer.encoders.pooling import UnsupportedModelLayout, pool, pooling_mode, read_layout
from indexer.encoders.runtime_choice import RuntimeUnavailable, choose_runtime

# --- choosing the runtime


def test_auto_is_onnx_int8_on_a_cpu_and_torch_half_precision_on_cuda() -> None:
    cpu = choose_runtime("auto", "auto", "auto", cuda_available=False)
    assert (cpu.runtime, cpu.device, cpu.bf16, cpu.name_suffix) == (
        "onnx-int8",
        "cpu",
        False,
        "@onnx-int8",
    )
    gpu = choose_runtime("auto", "auto", "auto", cuda_available=True)
    assert (gpu.runtime, gpu.device, gpu.bf16, gpu.name_suffix) == ("torch", "cuda", True, "@bf16")


def test_explicit_settings_are_honoured() -> None:
    torch_cpu = choose_runtime("torch", "auto", "auto", cuda_available=False)
    assert (torch_cpu.runtime, torch_cpu.device, torch_cpu.bf16) == ("torch", "cpu", False)
    assert torch_cpu.name_suffix == ""
    assert choose_runtime("torch", "bf16", "cpu", cuda_available=False).name_suffix == "@bf16"
    fp32_gpu = choose_runtime("auto", "fp32", "cuda:1", cuda_available=True)
    assert (fp32_gpu.runtime, fp32_gpu.device, fp32_gpu.bf16) == ("torch", "cuda:1", False)
    # the CPU device explicitly, even with CUDA present: the CPU default
    assert choose_runtime("auto", "auto", "cpu", cuda_available=True).runtime == "onnx-int8"


def test_onnx_fp32_keeps_the_plain_model_name_and_runs_on_the_cpu() -> None:
    choice = choose_runtime("onnx", "bf16", "auto", cuda_available=True)
    assert (choice.runtime, choice.device, choice.bf16, choice.name_suffix) == (
        "onnx",
        "cpu",
        False,
        "",
    )


def test_onnx_on_an_explicit_cuda_device_is_a_clear_error() -> None:
    with pytest.raises(RuntimeUnavailable, match=r"CPU only.*MMRAG_ENCODER_RUNTIME=torch"):
        choose_runtime("onnx-int8", "auto", "cuda", cuda_available=True)
    with pytest.raises(RuntimeUnavailable, match="cannot run on mps"):
        choose_runtime("onnx", "auto", "mps", cuda_available=False)


def test_auto_on_another_torch_device_is_torch() -> None:
    choice = choose_runtime("auto", "auto", "mps", cuda_available=False)
    assert (choice.runtime, choice.device, choice.bf16) == ("torch", "mps", False)


# --- the export cache


def _model(directory: Path, weights: bytes = b"weights") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text("{}")
    (directory / "model.safetensors").write_bytes(weights)
    return directory


def test_fingerprint_follows_the_model_files_and_ignores_hidden_ones(tmp_path: Path) -> None:
    model = _model(tmp_path / "m")
    first = model_fingerprint(model)
    (model / ".cache").mkdir()
    (model / ".cache" / "lock").write_text("x")
    assert model_fingerprint(model) == first
    assert model_fingerprint(_model(tmp_path / "copy")) == first  # content, not location
    (model / "model.safetensors").write_bytes(b"other weights")
    assert model_fingerprint(model) != first
    renamed = _model(tmp_path / "r")
    (renamed / "config.json").rename(renamed / "config2.json")
    assert model_fingerprint(renamed) != first


def test_export_dir_name_is_safe_and_keyed_by_everything_that_changes_the_export() -> None:
    name = export_dir_name("sentence-transformers/all-MiniLM-L6-v2", "onnx-int8", "abc", "ort1")
    assert name.startswith("sentence-transformers--all-MiniLM-L6-v2-onnx-int8-")
    assert "/" not in name
    assert export_dir_name("/srv/models/x/", "onnx", "abc", "ort1") == export_dir_name(
        "/tmp/elsewhere/x", "onnx", "abc", "ort1"
    )  # the same files in another directory: the same export
    assert export_dir_name("/srv/models/x/", "onnx", "abc", "ort1").startswith("x-onnx-")
    others = {
        export_dir_name("sentence-transformers/all-MiniLM-L6-v2", "onnx", "abc", "ort1"),
        export_dir_name("sentence-transformers/all-MiniLM-L6-v2", "onnx-int8", "abd", "ort1"),
        export_dir_name("sentence-transformers/all-MiniLM-L6-v2", "onnx-int8", "abc", "ort2"),
    }
    assert name not in others
    assert len(others) == 3
    assert export_dir_name("m", "onnx", "abc", "ort1") == export_dir_name(
        "m", "onnx", "abc", "ort1"
    )


def test_concurrent_builders_build_once_and_publish_a_finished_directory(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model-onnx-0123"
    calls: list[int] = []

    def build(work: Path) -> dict[str, object]:
        calls.append(1)
        (work / "text.onnx").write_bytes(b"half")
        time.sleep(0.2)  # the other builder arrives meanwhile and must wait
        (work / "text.onnx").write_bytes(b"whole")
        return {"model": "m"}

    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_built(target, build)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert results == [target] * 3
    assert (target / "text.onnx").read_bytes() == b"whole"
    assert json.loads((target / MARKER_FILE).read_text())["model"] == "m"
    assert [p.name for p in target.parent.iterdir() if not p.name.endswith(".lock")] == [
        target.name
    ]


def test_a_failed_build_leaves_nothing_that_looks_finished(tmp_path: Path) -> None:
    target = tmp_path / "model-onnx-0123"

    def failing(work: Path) -> dict[str, object]:
        (work / "text.onnx").write_bytes(b"half")
        raise RuntimeError("export failed")

    with pytest.raises(RuntimeError, match="export failed"):
        ensure_built(target, failing)
    assert not target.exists()
    assert not is_built(target)
    target.mkdir()  # an interrupted run's leftover (no marker) is replaced
    (target / "junk").write_text("x")
    ensure_built(target, lambda work: {"ok": True})
    assert is_built(target)
    assert not (target / "junk").exists()


# --- the model's layout and pooling


def _st_model(tmp_path: Path, pooling: dict[str, object], extra: list[str] | None = None) -> Path:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ] + [
        {"idx": 2 + i, "name": str(2 + i), "path": f"{2 + i}_{kind}", "type": f"x.{kind}"}
        for i, kind in enumerate(extra or ["Normalize"])
    ]
    (tmp_path / "1_Pooling").mkdir(parents=True)
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (tmp_path / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 128, "do_lower_case": True})
    )
    return tmp_path


def test_layout_is_read_from_the_models_own_files(tmp_path: Path) -> None:
    model = _st_model(tmp_path, {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    layout = read_layout(model)
    assert (layout.pooling, layout.normalise, layout.max_seq_length, layout.lowercase) == (
        "cls",
        True,
        128,
        True,
    )
    assert layout.transformer_dir == model


def test_the_packaged_minilm_asks_for_mean_pooling_and_normalisation() -> None:
    from indexer.encoders.model_files import local_model_dir

    layout = read_layout(local_model_dir("sentence-transformers/all-MiniLM-L6-v2"))
    assert (layout.pooling, layout.normalise, layout.max_seq_length) == ("mean", True, 256)


def test_unsupported_layouts_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModelLayout, match=r"\['Dense'\] after pooling"):
        read_layout(_st_model(tmp_path / "a", {"pooling_mode_mean_tokens": True}, ["Dense"]))
    with pytest.raises(UnsupportedModelLayout, match="exactly one pooling mode"):
        pooling_mode({"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True})
    with pytest.raises(UnsupportedModelLayout, match="weighted-mean"):
        pooling_mode({"pooling_mode_weightedmean_tokens": True})
    with pytest.raises(UnsupportedModelLayout, match="cannot read"):
        read_layout(tmp_path / "nothing-here")
    assert pooling_mode({"pooling_mode": "lasttoken"}) == "lasttoken"
    assert pooling_mode({"pooling_mode": "mean_tokens"}) == "mean"


def test_pooling_ignores_padding() -> None:
    tokens = np.array(
        [[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, -1.0], [7.0, 9.0], [-2.0, 0.0]]],
        dtype=np.float32,
    )
    mask = np.array([[1, 1, 0], [1, 1, 1]], dtype=np.int64)
    assert np.allclose(pool(tokens, mask, "mean"), [[2.0, 3.0], [10 / 3, 8 / 3]])
    assert np.allclose(pool(tokens, mask, "cls"), [[1.0, 2.0], [5.0, -1.0]])
    assert np.allclose(pool(tokens, mask, "max"), [[3.0, 4.0], [7.0, 9.0]])
    assert np.allclose(pool(tokens, mask, "lasttoken"), [[3.0, 4.0], [-2.0, 0.0]])
    root = pool(tokens, mask, "mean_sqrt_len")
    assert np.allclose(root[0], np.array([4.0, 6.0]) / np.sqrt(2))
    left_padded = np.array([[0, 1, 1], [1, 1, 1]], dtype=np.int64)
    assert np.allclose(pool(tokens, left_padded, "lasttoken")[0], [100.0, 100.0])
