"""Standalone images: formats, decompression bombs, corrupt files, decoding for the model."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from indexer.errors import ExtractionError
from indexer.extract import ExtractionLimits, extract_document, load_rgb_for_model
from indexer.extract.images import open_for_decode


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` × ``height`` (a bomb needs no real pixels)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


SAMPLE = Image.new("RGB", (80, 60), (200, 120, 40))


@pytest.mark.parametrize(
    ("fmt", "name", "content_type"),
    [
        ("PNG", "forest.png", "image/png"),
        ("JPEG", "sunset.jpg", "image/jpeg"),
        ("WEBP", "photo.webp", "image/webp"),
        ("GIF", "anim.gif", "image/gif"),
        ("TIFF", "scan.tiff", "image/tiff"),
        ("BMP", "old.bmp", "image/bmp"),
    ],
)
def test_standalone_image_is_one_image_part_with_original_bytes(
    fmt: str, name: str, content_type: str
) -> None:
    data = encode(SAMPLE, fmt)
    document = extract_document(data, None, name=name)
    assert document.title == name
    assert document.text_parts == ()
    (part,) = document.image_parts
    assert part.data == data
    assert part.content_type == content_type
    assert part.name == name
    assert part.index == 0


def test_content_type_comes_from_the_bytes_not_the_label() -> None:
    data = encode(SAMPLE, "PNG")
    (part,) = extract_document(data, "image/jpeg", name="mislabelled.jpg").image_parts
    assert part.content_type == "image/png"


def test_image_over_the_pixel_limit_is_refused_before_decoding() -> None:
    data = encode(Image.new("L", (3000, 3000), 255), "PNG")
    assert len(data) < 100_000  # a single colour compresses to almost nothing
    limits = ExtractionLimits(max_image_pixels=1_000_000)
    with pytest.raises(ExtractionError) as raised:
        extract_document(data, "image/png", limits=limits)
    assert raised.value.reason == (
        "image has 9000000 pixels, over the limit 1000000 (decompression bomb?)"
    )


def test_huge_declared_canvas_is_refused_with_default_limits() -> None:
    with pytest.raises(ExtractionError, match="pixels"):
        extract_document(png_header_only(20_000, 20_000), "image/png")


def test_pillow_bomb_warning_becomes_an_error() -> None:
    # 100 M pixels: over Pillow's warning threshold (~89 M), under our raised limit.
    limits = ExtractionLimits(max_image_pixels=200_000_000)
    with pytest.raises(ExtractionError, match="decompression bomb"):
        extract_document(png_header_only(10_000, 10_000), "image/png", limits=limits)


@pytest.mark.parametrize(
    "data",
    [
        b"definitely not an image",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",  # EPS is never opened
    ],
)
def test_corrupt_or_refused_image_is_an_extraction_error(data: bytes) -> None:
    with pytest.raises(ExtractionError):
        extract_document(data, "image/png")


def test_truncated_png_is_caught_at_extraction() -> None:
    data = encode(Image.effect_noise((200, 200), 50).convert("RGB"), "PNG")
    with pytest.raises(ExtractionError):
        extract_document(data[: len(data) // 2], "image/png")


def test_truncated_jpeg_is_caught_when_decoding() -> None:
    data = encode(Image.effect_noise((400, 300), 50).convert("RGB"), "JPEG")
    with pytest.raises(ExtractionError, match="corrupt image"):
        load_rgb_for_model(data[: len(data) // 2])


# --- decoding for the model -----------------------------------------------------------


@pytest.fixture(scope="module")
def large_jpeg() -> bytes:
    return encode(Image.linear_gradient("L").resize((4000, 3000)).convert("RGB"), "JPEG")


def test_jpeg_is_drafted_to_reduced_size_before_loading(large_jpeg: bytes) -> None:
    image = open_for_decode(large_jpeg, max_side=1024)
    assert image.size == (2000, 1500)  # libjpeg decodes at 1/2 scale: still ≥ 1024
    image.load()
    assert image.size == (2000, 1500)


def test_large_jpeg_decodes_to_at_most_max_side(large_jpeg: bytes) -> None:
    image = load_rgb_for_model(large_jpeg, max_side=1024)
    assert image.mode == "RGB"
    assert max(image.size) == 1024
    assert image.size == (1024, 768)


def test_small_images_are_not_upscaled() -> None:
    image = load_rgb_for_model(encode(SAMPLE, "PNG"), max_side=1024)
    assert image.size == (80, 60)


def test_transparency_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    assert load_rgb_for_model(encode(rgba, "PNG")).getpixel((5, 5)) == (255, 255, 255)
    la = Image.new("LA", (40, 40), (0, 0))
    assert load_rgb_for_model(encode(la, "PNG")).getpixel((5, 5)) == (255, 255, 255)


def test_palette_gif_with_transparency_and_first_frame_only() -> None:
    first = Image.new("P", (40, 40), 1)
    first.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    second = Image.new("P", (40, 40), 2)
    second.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * 759)
    data = encode(first, "GIF", save_all=True, append_images=[second], transparency=0)
    assert load_rgb_for_model(data).getpixel((5, 5)) == (255, 0, 0)
    clear = Image.new("P", (40, 40), 0)
    clear.putpalette([0, 0, 0] * 256)
    assert load_rgb_for_model(encode(clear, "GIF", transparency=0)).getpixel((1, 1)) == (
        255,
        255,
        255,
    )


def test_sixteen_bit_grayscale_is_scaled_not_clipped() -> None:
    gray16 = Image.new("I;16", (32, 32), 32768)
    red, green, blue = load_rgb_for_model(encode(gray16, "PNG")).getpixel((3, 3))  # type: ignore[misc]
    assert red == green == blue
    assert 120 <= red <= 135


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = encode(Image.new("RGB", (300, 100), (0, 90, 0)), "JPEG", exif=exif.tobytes())
    assert load_rgb_for_model(data).size == (100, 300)


def test_webp_and_tiff_decode_to_rgb() -> None:
    for fmt in ("WEBP", "TIFF", "BMP"):
        image = load_rgb_for_model(encode(SAMPLE, fmt), max_side=40)
        assert image.mode == "RGB"
        assert image.size == (40, 30)


def test_decoding_applies_the_bomb_guard() -> None:
    with pytest.raises(ExtractionError, match="over the limit 1000"):
        load_rgb_for_model(encode(SAMPLE, "PNG"), max_pixels=1000)


def test_decoding_corrupt_bytes_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError):
        load_rgb_for_model(b"\xff\xd8\xff\xe0 not really a jpeg")
