"""Reading QR codes back in tests, with zxing-cpp: from a screenshot (what a phone camera
would see) or from the SVG the app serves, rasterised from its path."""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image, ImageDraw

RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-\d+z")


def decode_png(png: bytes) -> list[str]:
    """Every QR code found in the image, as text, left to right, top to bottom."""
    image = Image.open(io.BytesIO(png)).convert("L")
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    found = sorted(found, key=lambda r: (round(r.position.top_left.y / 40), r.position.top_left.x))
    return [result.text for result in found]


def decode_svg(svg: str, scale: int = 6) -> str:
    """The text of one QR code drawn by pwa.qr.qr_svg (rows of dark runs in one path)."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    image = Image.new("L", ((size + 8) * scale,) * 2, 255)
    draw = ImageDraw.Draw(image)
    for x, y, width in RUN.findall(svg):
        x, y, width = int(x) + 4, int(y) + 4, int(width)
        draw.rectangle([x * scale, y * scale, (x + width) * scale - 1, (y + 1) * scale - 1], fill=0)
    (result,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return result.text
