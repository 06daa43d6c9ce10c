"""Case and accent folding for matching: "ÜBER", "über" and "uber" are one word to a search.

A leaf module (standard library only) because both the rules (`services`) and the database
layer (which stores a folded copy of titles and descriptions) need the same fold.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """`text` lower-cased the Unicode way (`casefold`: "Straße" → "strasse") and without
    combining marks ("café" → "cafe", "Ångström" → "angstrom"), in NFC."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)
