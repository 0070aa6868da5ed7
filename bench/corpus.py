"""Synthetic but realistic benchmark inputs: prose files and photos of camera size."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

VOCABULARY = (
    "the a of to and in is that for it as with was on be by at this from or an are which "
    "stream index kafka event chunk vector search image text model batch offset partition "
    "document revision manifest embedding cluster node query fusion rank answer citation "
    "change watcher folder file delete rename update fresh second latency throughput "
    "operator deploy broker consumer producer schema retention replica leader follower"
).split()


def prose(seed: int, paragraphs: int = 3, words: int = 90) -> str:
    generator = random.Random(seed)
    blocks = []
    for number in range(paragraphs):
        sentence_words = [generator.choice(VOCABULARY) for _ in range(words)]
        for cut in range(12, words, 15):
            sentence_words[cut] += "."
        blocks.append(" ".join(sentence_words).capitalize() + ".")
        if number == 0:
            blocks.insert(0, f"# Note {seed}")
    return "\n\n".join(blocks)


def photo(seed: int, size: tuple[int, int] = (4000, 3000)) -> bytes:
    """A JPEG with camera-like size and texture (so decoding costs what a photo costs)."""
    generator = random.Random(seed)
    small = Image.new("RGB", (size[0] // 8, size[1] // 8))
    draw = ImageDraw.Draw(small)
    for _ in range(60):
        x, y = generator.randrange(small.width), generator.randrange(small.height)
        radius = generator.randrange(10, 120)
        color = tuple(generator.randrange(256) for _ in range(3))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)
    image = small.resize(size).filter(ImageFilter.GaussianBlur(2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def write_corpus(folder: Path, texts: int, photos: int, photo_size: tuple[int, int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(texts):
        (folder / f"note-{number:04d}.md").write_text(prose(number))
    template = photo(0, photo_size)
    for number in range(photos):
        # Distinct bytes per photo (a different comment), same decode cost.
        (folder / f"photo-{number:04d}.jpg").write_bytes(
            template[:2] + b"\xff\xfe\x00\x10" + f"mmrag{number:09d}".encode() + template[2:]
        )
