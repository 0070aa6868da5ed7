"""Encoders: a text embedder and a CLIP-style image+text embedder behind small protocols.

Heavy imports (torch, transformers) happen inside the implementations' ``load`` so that
importing this package stays cheap.
"""

from __future__ import annotations

from indexer.encoders.base import Encoders, ImageTextEmbedder, TextEmbedder
from indexer.encoders.settings import EncoderSettings

__all__ = ["EncoderSettings", "Encoders", "ImageTextEmbedder", "TextEmbedder"]
