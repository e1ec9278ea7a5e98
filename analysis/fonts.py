"""Labels that never show tofu: draw a character only where an installed font has its glyph.

Matplotlib draws text with DejaVu Sans, which has no emoji and no CJK glyphs; a missing glyph is
drawn as an empty box. At run time :func:`detect_coverage` asks fontconfig (``fc-list``) for
fonts that hold the glyphs a label needs (e.g. Symbola from Debian's ``fonts-symbola`` for
emoji), checks that matplotlib can draw with them at any size (colour bitmap fonts such as
Noto Color Emoji cannot be scaled by matplotlib's FreeType renderer and are skipped), and
adds them as fallback families. A character no usable font covers is replaced by readable text:
an emoji by its name ("😀" → "grinning face"), anything else by its code point ("U+65E5").
"""
from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from pathlib import Path
from dataclasses import dataclass, field

import emoji
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

log = logging.getLogger(__name__)

BASE_FAMILY = "DejaVu Sans"
# Characters that only modify their neighbours: drawn by no font on their own, dropped from labels
# (without text shaping matplotlib draws a ZWJ sequence as its parts side by side anyway).
JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}
# thumbs up, party popper, fire: common emojis that DejaVu Sans (which has U+1F600..1F64F) lacks
EMOJI_PROBE = "\U0001F44D\U0001F389\U0001F525"


@dataclass
class FontCoverage:
    """The font families used for labels and the code points they can draw."""

    families: list[str] = field(default_factory=lambda: [BASE_FAMILY])
    codepoints: set[int] = field(default_factory=set)
    search_system_fonts: bool = True  # ask fc-list for a font when a character is not covered
    _tried: set[int] = field(default_factory=set, repr=False)

    def can_draw(self, char: str) -> bool:
        if ord(char) in self.codepoints:
            return True
        if self.search_system_fonts and ord(char) not in self._tried:
            self._tried.add(ord(char))
            found = _usable_font_for(char)
            if found is not None:
                family, codepoints = found
                if family not in self.families:
                    self.families.append(family)
                    log.info("labels: font %r draws %r (U+%04X)", family, char, ord(char))
                self.codepoints |= codepoints
        return ord(char) in self.codepoints

    def has_emoji_font(self) -> bool:
        return all(self.can_draw(char) for char in EMOJI_PROBE)

    def label(self, text: str) -> str:
        """``text`` with every character no font can draw replaced by readable text."""
        if not emoji.emoji_count(text) and all(self.can_draw(char) for char in text):
            return text
        parts: list[str] = []
        unknown: list[str] = []  # consecutive characters no font draws, shown as one [U+… U+…] group

        def flush() -> None:
            if unknown:
                parts.append("[" + " ".join(f"U+{ord(char):04X}" for char in unknown) + "]")
                unknown.clear()

        for token in emoji.analyze(text, non_emoji=True, join_emoji=True):
            if isinstance(token.value, emoji.EmojiMatch):
                flush()
                glyph = self.emoji_glyph(token.value.emoji)
                parts.append(glyph if glyph else f"[{emoji_name(token.value.emoji)}]")
            elif token.value in JOINERS:
                continue
            elif self.can_draw(token.value):
                flush()
                parts.append(token.value)
            else:
                unknown.append(token.value)
        flush()
        return "".join(parts)

    def emoji_glyph(self, text: str) -> str | None:
        """The one glyph to draw for an emoji, or None when no font draws it as one picture.

        Matplotlib has no text shaping: a ZWJ sequence (👨‍👩‍👧), a flag (two regional
        indicators) or a tag sequence would be drawn as separate pieces, which reads as garbage;
        those are named instead. A skin-tone modifier is dropped from the glyph (the name keeps it).
        """
        base = "".join(char for char in text if char not in JOINERS and not _is_skin_tone(char))
        if len(base) != 1 or "\u200d" in text or _is_regional_indicator(base):
            return None
        return base if self.can_draw(base) else None

    def emoji_label(self, key: str) -> str:
        """Label for an ``emoji_table`` row key: ':shortcode:' as is; a Unicode emoji as its glyph
        and its name when a font draws it ("😀  grinning face"), else its name alone."""
        if len(key) > 2 and key.startswith(":") and key.endswith(":"):
            return self.label(key)
        name = emoji_name(key)
        glyph = self.emoji_glyph(key)
        return f"{glyph}  {name}" if glyph else name


def _is_skin_tone(char: str) -> bool:
    return 0x1F3FB <= ord(char) <= 0x1F3FF


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def emoji_name(text: str) -> str:
    """'😀' → 'grinning face'; an emoji the package does not know → its code points."""
    name = emoji.demojize(text, delimiters=("\x00", "\x00"))
    if name.count("\x00") == 2 and name.startswith("\x00") and name.endswith("\x00"):
        name = name.strip("\x00").replace("_", " ")
        is_flag = all(_is_regional_indicator(char) for char in text)
        return f"flag: {name}" if is_flag else name
    if "\x00" in name:  # several emojis: name each
        return " ".join(part.replace("_", " ") for part in name.split("\x00") if part.strip())
    return " ".join(f"U+{ord(char):04X}" for char in text if char not in JOINERS) or text


@functools.lru_cache(maxsize=None)
def _font_codepoints(path: str) -> frozenset[int] | None:
    """The code points matplotlib can draw with the font file, or None if it cannot use it."""
    try:
        font = FT2Font(path)
        font.set_size(12, 72)  # bitmap-only (colour emoji) fonts fail here
        codepoints = frozenset(font.get_charmap())
        probe = next((char for char in EMOJI_PROBE if ord(char) in codepoints), None)
        if probe is not None:
            font.set_text(probe, 0.0)  # a glyph that loads but cannot be rendered fails here
    except (RuntimeError, OSError, ValueError) as exc:
        log.debug("labels: font %s unusable by matplotlib: %s", path, exc)
        return None
    return codepoints


def _fc_list_fonts(char: str) -> list[str] | None:
    """Font files fontconfig says hold the character; None when fontconfig is not installed."""
    if not shutil.which("fc-list"):
        return None
    try:
        result = subprocess.run(["fc-list", "--format", "%{file}\n", f":charset={ord(char):x}"],
                                capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # Prefer outline (.ttf/.otf) fonts, in a stable order
    return sorted({line.strip() for line in result.stdout.splitlines() if line.strip()},
                  key=lambda path: (not path.lower().endswith((".ttf", ".otf")), path))


def _matplotlib_known_fonts() -> list[str]:
    return sorted({entry.fname for entry in font_manager.fontManager.ttflist})


def _is_placeholder_font(path: str) -> bool:
    # Last Resort (shipped with matplotlib) "covers" everything by drawing a box: tofu by design
    return "lastresort" in Path(path).name.lower()


@functools.lru_cache(maxsize=None)
def _usable_font_for(char: str) -> tuple[str, frozenset[int]] | None:
    candidates = _fc_list_fonts(char)
    if candidates is None:
        candidates = _matplotlib_known_fonts()
    for path in candidates:
        if _is_placeholder_font(path):
            continue
        codepoints = _font_codepoints(path)
        if codepoints is None or ord(char) not in codepoints:
            continue
        try:
            font_manager.fontManager.addfont(path)
            family = font_manager.FontProperties(fname=path).get_name()
        except (RuntimeError, OSError, ValueError) as exc:
            log.debug("labels: cannot register font %s: %s", path, exc)
            continue
        return family, codepoints
    return None


def base_coverage(search_system_fonts: bool = True) -> FontCoverage:
    """DejaVu Sans (always there: matplotlib ships it), extended on demand from system fonts."""
    path = font_manager.findfont(font_manager.FontProperties(family=BASE_FAMILY), fallback_to_default=True)
    codepoints = _font_codepoints(path) or set()
    return FontCoverage([BASE_FAMILY], set(codepoints), search_system_fonts=search_system_fonts)


@functools.lru_cache(maxsize=1)
def detect_coverage() -> FontCoverage:
    """The coverage the charts use by default (one per process; it learns fonts as labels need them)."""
    coverage = base_coverage(search_system_fonts=True)
    if coverage.has_emoji_font():
        log.info("labels: emoji drawn with %s", coverage.families[1:])
    else:
        log.info("labels: no emoji font usable by matplotlib (install Debian's fonts-symbola); "
                 "emojis are labelled by name")
    return coverage
