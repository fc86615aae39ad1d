"""Characters a reader does not see: zero-width spaces and joiners, direction marks,
the soft hyphen, the BOM, invisible separators and tag characters.

They are removed wherever text is matched against rules (cleaning, the injection
filter, citation markers), because "ig\u200bnore previous instructions" or
"[\u200b1]" must not slip past a rule while the model still reads the words.
"""

from __future__ import annotations

import re

# U+00AD soft hyphen, U+034F combining grapheme joiner, U+061C Arabic letter mark,
# U+115F/U+1160/U+3164/U+FFA0 Hangul fillers, U+180E Mongolian vowel separator,
# U+200B..U+200F zero-width space/joiners and direction marks, U+202A..U+202E
# bidi embeddings, U+2060..U+206F word joiner, invisible operators and bidi
# isolates, U+FE00..U+FE0F variation selectors, U+FEFF BOM (zero-width no-break
# space), U+FFF9..U+FFFB interlinear annotation, U+1BCA0..U+1BCA3 shorthand format
# controls, U+1D173..U+1D17A musical format marks, U+E0000..U+E007F tag characters.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f]+"
)


def strip_invisible(text: str) -> str:
    """``text`` without the characters a reader does not see (linear in its length)."""
    return INVISIBLE.sub("", text)
