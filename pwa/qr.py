"""QR codes as inline SVG (no Pillow, no image files): invite links, door stickers, guide
cards' official sites.

qrcode's own SVG factories draw one square per dark module (~10 KB for a short link); a sheet
of 24 door stickers would weigh a quarter of a megabyte. Here each row's runs of dark modules
become one rectangle in a single path, which is ~3× smaller and draws the same code.
"""

from __future__ import annotations

import qrcode
from markupsafe import Markup


def qr_svg(data: str, *, border: int = 2, label: str = "") -> Markup:
    """An SVG QR code of `data` (error correction M), sized by CSS (`.qr svg`), safe to put
    in a page. `label` becomes its accessible name."""
    code = qrcode.QRCode(border=border, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the border
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    title = f"<title>{Markup.escape(label)}</title>" if label else ""
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'role="img" shape-rendering="crispEdges">{title}'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path d="{"".join(runs)}" fill="#000"/></svg>'
    )
