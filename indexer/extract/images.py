"""Standalone images, and decoding images cheaply and safely for the image encoder.

Two guards apply before any pixel is decoded: the formats Pillow may open are limited to
the raster formats we index (no EPS, which would run Ghostscript), and the header's
width × height must be within ``max_image_pixels`` (a small file can declare a huge
canvas: a decompression bomb). Pillow's own bomb check is turned into an error too.
Extraction only opens and verifies the file; full decoding happens once, in
``load_rgb_for_model``, where JPEGs are decoded at reduced size (draft mode).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import ExifTags, Image, UnidentifiedImageError

from indexer.documents import ExtractedDocument, ImagePart
from indexer.errors import ExtractionError
from indexer.extract.limits import DEFAULT_LIMITS, ExtractionLimits

IMAGE_CONTENT_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
        "image/tiff",
        "image/bmp",
        "image/x-ms-bmp",
    }
)
PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "TIFF", "BMP")
_WHITE = (255, 255, 255)
_ORIENTATION_FIXES = {
    # EXIF orientation → the transpose that makes the picture upright (as ImageOps does).
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@contextmanager
def _image_errors(max_pixels: int) -> Iterator[None]:
    """Turn Pillow's complaints (corrupt, truncated, bomb) into ``ExtractionError``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ExtractionError(
                f"image is over the limit {max_pixels} pixels (decompression bomb?): {error}"
            ) from error
        except UnidentifiedImageError as error:
            raise ExtractionError("not a readable image (unknown or corrupt format)") from error
        except (OSError, ValueError, SyntaxError, EOFError) as error:
            raise ExtractionError(f"corrupt image: {error}") from error


def open_checked(data: bytes, *, max_pixels: int) -> Image.Image:
    """Open (not decode) an image and refuse it if its header declares too many pixels."""
    with _image_errors(max_pixels):
        image = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
    pixels = image.width * image.height
    if pixels > max_pixels:
        image.close()
        raise ExtractionError(
            f"image has {pixels} pixels, over the limit {max_pixels} (decompression bomb?)"
        )
    return image


def open_for_decode(
    data: bytes, *, max_side: int = 1024, max_pixels: int = 64_000_000
) -> Image.Image:
    """Open an image for decoding at about ``max_side``; JPEGs are set to draft mode.

    ``draft`` makes libjpeg decode at 1/2, 1/4 or 1/8 scale (the smallest that still
    covers ``max_side``), several times cheaper than a full decode of a large photo. The
    returned image is not loaded yet; its ``size`` is already the reduced one.
    """
    image = open_checked(data, max_pixels=max_pixels)
    if image.format == "JPEG":
        with _image_errors(max_pixels):
            image.draft("RGB", (max_side, max_side))
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited on white (not on black, as a plain convert does)."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}:
        top = image.getextrema()[1]
        high = 65535 if image.mode.startswith("I;16") else 1
        if isinstance(top, int | float) and not image.mode.startswith("I;16"):
            high = max(int(top), 1)
        image = image.convert("I").point(lambda value: value * (255 / high)).convert("L")
    if image.mode in {"RGBA", "LA", "PA", "La", "RGBa"}:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def load_rgb_for_model(
    data: bytes, *, max_side: int = 1024, max_pixels: int = 64_000_000
) -> Image.Image:
    """Decode an image for the encoder: RGB, upright (EXIF), longest side ≤ ``max_side``.

    GIFs and multi-page TIFFs give their first frame. Corrupt data and decompression bombs
    raise ``ExtractionError``.
    """
    image = open_for_decode(data, max_side=max_side, max_pixels=max_pixels)
    with _image_errors(max_pixels):
        image.seek(0)
        image.load()
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
        rgb = to_rgb(image)
        rgb.thumbnail((max_side, max_side))
    turn = _ORIENTATION_FIXES.get(orientation)
    return rgb.transpose(turn) if turn is not None else rgb


def extract_image(
    data: bytes,
    *,
    content_type: str | None = None,
    name: str | None = None,
    limits: ExtractionLimits = DEFAULT_LIMITS,
) -> ExtractedDocument:
    """A standalone image file as a document of one image part holding the original bytes.

    The file is opened and checked (format, pixel count, structure) without decoding its
    pixels; a truncated file that passes here still fails in ``load_rgb_for_model``.
    """
    image = open_checked(data, max_pixels=limits.max_image_pixels)
    with _image_errors(limits.max_image_pixels):
        detected = Image.MIME.get(image.format or "")
        image.verify()
    part = ImagePart(data=data, content_type=detected or content_type, name=name, index=0)
    return ExtractedDocument(title=name, image_parts=(part,), page_count=None)
