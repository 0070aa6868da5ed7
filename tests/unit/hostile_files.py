"""Hostile inputs built in the tests: PDFs that declare huge images while being tiny."""

from __future__ import annotations

import zlib


def _flate_zeros(width: int, height: int) -> bytes:
    """A 1-bit image of ``width`` × ``height`` zero pixels, deflated (about 1000:1)."""
    row = b"\x00" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    stream = bytearray()
    for start in range(0, height, 1000):
        stream += packer.compress(row * min(1000, height - start))
    stream += packer.flush()
    return bytes(stream)


def _image_object(width: int, height: int, extra: bytes = b"") -> bytes:
    data = _flate_zeros(width, height)
    header = (
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 1 /Filter /FlateDecode /Length %d %s>>"
    ) % (width, height, len(data), extra)
    return header + b"\nstream\n" + data + b"\nendstream"


def image_bomb_pdf(side: int, *, in_soft_mask: bool = False, text: str = "Cover page") -> bytes:
    """One page with ``text`` and one drawn image; the image (or, with ``in_soft_mask``,
    only its soft mask) declares ``side`` × ``side`` pixels. 20,000 gives 49 KB on disk
    and 400 megapixels decoded."""
    content = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET q 200 0 0 200 100 400 cm /Im1 Do Q" % (
        text.encode("latin-1")
    )
    masked = in_soft_mask
    image = _image_object(200, 200, b"/SMask 7 0 R ") if masked else _image_object(side, side)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /XObject << /Im1 5 0 R >> /Font << /F1 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        image,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if in_soft_mask:
        objects.append(_image_object(side, side))
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        table,
    )
    return bytes(out)
