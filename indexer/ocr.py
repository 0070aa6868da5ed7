"""Text found in images (OCR), so that diagrams, screenshots, scans and photos of
whiteboards are findable by their words — with or without a CLIP model.

The engine is RapidOCR (PP-OCR detection + recognition models shipped inside the PyPI
package ``rapidocr-onnxruntime``, run on onnxruntime): real models, offline. It runs only
on image chunks that are being embedded (new content), never on reused ones.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger(__name__)

OcrSetting = Literal["auto", "on", "off"]


class TextRecogniser(Protocol):
    def recognise(self, image: Image.Image) -> str:
        """The text in the image, line by line (empty if none)."""
        ...


class RapidOcrRecogniser:
    def __init__(self, min_confidence: float = 0.6, min_side: int = 48) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self._engine: Any = RapidOCR()
        self._min_confidence = min_confidence
        self._min_side = min_side
        self._lock = threading.Lock()  # one onnxruntime session, one caller at a time

    def recognise(self, image: Image.Image) -> str:
        import numpy as np

        if min(image.size) < self._min_side:
            return ""
        with self._lock:
            result, _ = self._engine(np.asarray(image.convert("RGB")))
        lines = [
            str(text).strip()
            for _, text, confidence in (result or [])
            if float(confidence) >= self._min_confidence and str(text).strip()
        ]
        return "\n".join(lines)


def load_recogniser(setting: OcrSetting) -> TextRecogniser | None:
    if setting == "off":
        return None
    try:
        return RapidOcrRecogniser()
    except ImportError:
        if setting == "on":
            raise
        logger.warning("OCR is off: install the `ocr` extra (rapidocr-onnxruntime) to enable it")
        return None
