"""Rasterise the app's SVG icons to the PNG sizes the web app manifest needs, with the same
Chromium the tests use (no imaging library needed). Run when an icon's SVG changes:
    .venv/bin/python scripts/make-icons.py
"""

from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parents[1] / "pwa" / "static" / "icons"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
TARGETS = [
    ("icon.svg", 192, "icon-192.png"),
    ("icon.svg", 512, "icon-512.png"),
    ("maskable.svg", 512, "maskable-512.png"),
    ("icon.svg", 180, "apple-touch-icon.png"),
]

with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    for source, size, target in TARGETS:
        page = browser.new_page(viewport={"width": size, "height": size})
        svg = (ICONS / source).read_text()
        svg = svg.replace("<svg ", f'<svg width="{size}" height="{size}" style="display:block" ', 1)
        page.set_content(f'<html><body style="margin:0;background:transparent">{svg}</body></html>')
        page.screenshot(path=str(ICONS / target), omit_background=True)
        page.close()
    browser.close()
print("icons written to", ICONS)
