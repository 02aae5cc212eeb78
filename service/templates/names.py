"""The rule for new prompt names: one spelling per name, nothing invisible, nothing a URL path would split.

- Normalised to Unicode NFC: `é` typed as one code point or as `e` + combining accent is the same name.
- Refused (400 `invalid_name`): control characters (CR, LF, tab, ...), invisible and format characters (zero-width
  space and joiners, bidi controls, soft hyphen, byte-order mark, ...), every space but the plain one, a space at
  either end, `/` and `\\`, and the names `.` and `..`.

`NAME_PATTERN` states the same rule as a regular expression for the OpenAPI document (service/http/openapi_exact.py).
Names stored before this rule keep working: a new revision of an existing name is accepted as it is spelled.
"""

from __future__ import annotations

import re
import sys
import unicodedata

from service.errors import InvalidInput

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Zs"})  # Zs: every space but U+0020
PATH_SEPARATORS = "/\\"


def _refused(code: int) -> bool:
    char = chr(code)
    return char in PATH_SEPARATORS or (unicodedata.category(char) in REFUSED_CATEGORIES and char != " ")


def _ranges() -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if _refused(code):
            if found and found[-1][1] == code - 1:
                found[-1] = (found[-1][0], code)
            else:
                found.append((code, code))
    return found


def _escape(code: int) -> str:
    # BMP characters as \uXXXX (read alike by Python and ECMA-262 regexes), others literally.
    return f"\\u{code:04x}" if code < 0x10000 else chr(code)


_REFUSED_CLASS = "".join(_escape(a) if a == b else f"{_escape(a)}-{_escape(b)}" for a, b in _ranges())
_ANY = f"[^{_REFUSED_CLASS}]"  # any allowed character, the plain space included
_END = f"[^{_REFUSED_CLASS} ]"  # ... but a space
_END_NOT_DOT = f"[^{_REFUSED_CLASS} .]"
# One allowed character that is not `.`, or a longer name that does not start or end with a space and is not `..`.
NAME_PATTERN = f"^(?:{_END_NOT_DOT}(?:{_ANY}*{_END})?|\\.(?:{_END_NOT_DOT}|{_ANY}+{_END}))$"
_NAME = re.compile(NAME_PATTERN)
NAME_RULE = (
    "Normalised to NFC. No control or invisible characters (zero-width, bidi, soft hyphen, BOM), no space but the "
    "plain one and none at either end, no `/` or `\\`, not `.` or `..`."
)


def check_new_name(name: str) -> str:
    """The NFC form of `name`, or InvalidInput (400 invalid_name) saying what is wrong with it."""
    normal = unicodedata.normalize("NFC", name)
    if _NAME.fullmatch(normal):
        return normal
    if normal in {".", ".."}:
        raise _invalid(name, "`.` and `..` are not names")
    for position, char in enumerate(normal):
        if _refused(ord(char)):
            if char in PATH_SEPARATORS:
                raise _invalid(name, f"`{char}` at position {position} would split the URL path")
            label = unicodedata.name(char, f"U+{ord(char):04X}")
            raise _invalid(name, f"it contains an invisible or control character ({label}) at position {position}")
    raise _invalid(name, "it starts or ends with a space")


def _invalid(name: str, why: str) -> InvalidInput:
    return InvalidInput(f"Name {name[:80]!r} is not allowed: {why}. {NAME_RULE}", code="invalid_name")
