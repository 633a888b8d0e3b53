"""The priorities as a horizontal bar chart: SVG for HTML and PDF, PNG for Word.

The SVG uses presentation attributes only (no style attributes), so it passes a strict CSP.
"""

import io
from pathlib import Path

from markupsafe import Markup, escape

from app.reports.data import Line

WIDTH = 640
BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 320
COLOUR = "#1f5f8b"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def svg(lines: tuple[Line, ...], title: str) -> Markup:
    if not lines:
        return Markup("")
    top = max(line.votes for line in lines) or 1
    span = WIDTH - LABEL_WIDTH - 50
    height = len(lines) * (BAR_HEIGHT + GAP) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'font-family="DejaVu Sans, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
    ]
    for i, line in enumerate(lines):
        y = GAP + i * (BAR_HEIGHT + GAP)
        width = max(1, round(span * line.votes / top))
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" fill="#222">'
            f"{line.rank}. {escape(_short(line.title))}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" '
            f'fill="{COLOUR}"/>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 15}" fill="#222">{line.votes}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text is escaped above)


def png(lines: tuple[Line, ...]) -> bytes | None:
    """The same chart as a PNG (Pillow, DejaVu Sans); None when there is nothing to draw."""
    if not lines:
        return None
    from PIL import Image, ImageDraw, ImageFont

    scale = 2  # sharp when printed
    top = max(line.votes for line in lines) or 1
    span = WIDTH - LABEL_WIDTH - 50
    height = len(lines) * (BAR_HEIGHT + GAP) + GAP
    image = Image.new("RGB", (WIDTH * scale, height * scale), "white")
    draw = ImageDraw.Draw(image)
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    try:
        font = ImageFont.truetype(str(FONT), 12 * scale)
    except OSError:
        font = ImageFont.load_default()
    for i, line in enumerate(lines):
        y = (GAP + i * (BAR_HEIGHT + GAP)) * scale
        width = max(1, round(span * line.votes / top)) * scale
        label = f"{line.rank}. {_short(line.title)}"
        left = ((LABEL_WIDTH - 6) * scale, y + 4 * scale)
        draw.text(left, label, fill="#222", font=font, anchor="ra")
        x = LABEL_WIDTH * scale
        draw.rectangle((x, y, x + width, y + BAR_HEIGHT * scale), fill=COLOUR)
        draw.text((x + width + 6 * scale, y + 4 * scale), str(line.votes), fill="#222", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
