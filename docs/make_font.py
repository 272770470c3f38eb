"""Make the font the diagrams embed: a subset of Liberation Sans Regular (metric-compatible
with Helvetica and Arial, the metrics Graphviz measures labels with), renamed as the SIL Open
Font License asks of a modified version, as a WOFF file in resnet_inspect/render/fonts/.

Also writes the font's advance widths (resnet_inspect/render/fonts/sans_metrics.json), with
which the SVG tables measure their text as a browser will draw it.

Run by a maintainer when the character set changes (needs fonttools and Liberation Sans):
    pip install fonttools && python docs/make_font.py [path/to/LiberationSans-Regular.ttf]
    python docs/make_font.py --metrics   # only the widths, from the shipped WOFF
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

SOURCE = "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf"
TARGET = Path(__file__).resolve().parent.parent / "resnet_inspect/render/fonts/sans.woff"
METRICS = TARGET.with_name("sans_metrics.json")
FAMILY = "resnet-inspect sans"
# Printable ASCII, Latin-1, and the signs the labels use: × · → … − – — ⊕ ′ ≥ ≤ ≈ ².
CHARACTERS = [*range(0x20, 0x7F), *range(0xA0, 0x100), *map(ord, "×·→…−–—⊕′≥≤≈²³ᵀ")]


def write_metrics() -> None:
    """Units per em and each character's advance width, from the shipped WOFF."""
    font = TTFont(TARGET)
    widths = font["hmtx"].metrics
    advances = {chr(code): widths[glyph][0] for code, glyph in sorted(font.getBestCmap().items())}
    metrics = {"units_per_em": font["head"].unitsPerEm, "advances": advances}
    METRICS.write_text(json.dumps(metrics, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {METRICS} ({len(advances)} characters)")


def main() -> None:
    if sys.argv[1:] == ["--metrics"]:
        write_metrics()
        return
    font = TTFont(sys.argv[1] if len(sys.argv) > 1 else SOURCE)
    options = subset.Options()
    options.flavor = "woff"
    options.name_IDs = ["*"]
    options.layout_features = ["kern"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=CHARACTERS)
    subsetter.subset(font)
    for record in font["name"].names:  # the reserved name "Liberation" may not be kept
        if record.nameID in (1, 3, 4, 6, 16):
            text = FAMILY if record.nameID != 6 else FAMILY.replace(" ", "-")
            record.string = text.encode(record.getEncoding())
    font.flavor = "woff"
    font.save(TARGET)
    print(f"wrote {TARGET} ({TARGET.stat().st_size:,} bytes)")
    write_metrics()


if __name__ == "__main__":
    main()
