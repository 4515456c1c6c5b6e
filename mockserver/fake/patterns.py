"""Strings from regex patterns: a walk over the stdlib's parsed regex tree, and character-class helpers."""

from __future__ import annotations

import importlib
import random
import string
from typing import Any, Final

# The node kinds of `re._parser` output (see `generator`): private, so loaded as an untyped module.
_op: Any = importlib.import_module("re._constants")

REPEAT_CAP: Final = 8  # extra repetitions allowed for an unbounded regex repeat (`*`, `+`, `{n,}`)

_DIGITS: Final = string.digits
_LETTERS: Final = string.ascii_letters
_WORD: Final = string.ascii_letters + string.digits + "_"
ALNUM: Final = string.ascii_letters + string.digits
_PRINTABLE: Final = ALNUM + "-_.~:/ "


class Walk:
    """One walk over a parsed regex (the `re._parser` tree), emitting a string the regex should match."""

    def __init__(self, rng: random.Random, mode: str, cap: int, negated: dict[int, tuple[Any, str]]) -> None:
        self.rng = rng
        self.mode = mode  # "random" repeat counts, or always the "long"est / "short"est allowed
        self.cap = cap  # extra repetitions an unbounded repeat may take in "long" mode
        self.negated = negated  # FakeData's cache: characters allowed by each negated class
        self.groups: dict[int, str] = {}
        self.out: list[str] = []

    def text(self, parsed: Any) -> str:
        self.emit(parsed)
        return "".join(self.out)

    def emit(self, items: Any) -> None:
        rng, out = self.rng, self.out
        for op, arg in items:
            if op is _op.LITERAL:
                out.append(chr(arg))
            elif op is _op.NOT_LITERAL:
                out.append(rng.choice([c for c in ALNUM if ord(c) != arg]))
            elif op is _op.IN:
                out.append(self.char_in(arg))
            elif op is _op.ANY:
                out.append(rng.choice(ALNUM))
            elif op in (_op.MAX_REPEAT, _op.MIN_REPEAT, _op.POSSESSIVE_REPEAT):
                self.repeat(*arg)
            elif op is _op.SUBPATTERN:
                group, _add_flags, _del_flags, sub = arg
                start = len(out)
                self.emit(sub)
                if group is not None:
                    self.groups[group] = "".join(out[start:])
            elif op is _op.ATOMIC_GROUP:
                self.emit(arg)
            elif op is _op.BRANCH:
                self.emit(rng.choice(arg[1]))
            elif op is _op.GROUPREF:
                out.append(self.groups.get(arg, ""))
            elif op is _op.GROUPREF_EXISTS:
                group, yes, no = arg
                branch = yes if group in self.groups else no
                if branch is not None:
                    self.emit(branch)
            elif op is _op.CATEGORY:
                out.append(rng.choice(_category_chars(arg)))
            # AT (anchors), ASSERT and ASSERT_NOT (lookarounds) emit nothing; re.search checks the result

    def repeat(self, least: int, most: Any, sub: Any) -> None:
        most = least + self.cap if most is _op.MAXREPEAT else most
        if self.mode == "long":
            times = most
        elif self.mode == "short":
            times = least
        else:
            times = self.rng.randint(least, min(most, least + REPEAT_CAP))
        for _ in range(times):
            self.emit(sub)

    def char_in(self, items: Any) -> str:
        if items and items[0][0] is _op.NEGATE:
            hit = self.negated.get(id(items))
            if hit is None:  # the printable characters the class excludes, computed once per class
                allowed = "".join(c for c in _PRINTABLE if not _in_class(c, items[1:])) or "~"
                hit = (items, allowed)
                self.negated[id(items)] = hit
            return self.rng.choice(hit[1])
        op, arg = self.rng.choice(items)
        if op is _op.LITERAL:
            return chr(arg)
        if op is _op.RANGE:
            return chr(self.rng.randint(arg[0], arg[1]))
        if op is _op.CATEGORY:
            return self.rng.choice(_category_chars(arg))
        return "a"


def _category_chars(category: Any) -> str:
    name = str(category)
    if "NOT_DIGIT" in name:
        return _LETTERS
    if "DIGIT" in name:
        return _DIGITS
    if "NOT_SPACE" in name:
        return ALNUM
    if "SPACE" in name:
        return " "
    if "NOT_WORD" in name:
        return "-. "
    if "WORD" in name:
        return _WORD
    if "NOT_LINEBREAK" in name:
        return ALNUM
    return "\n"


def _in_class(char: str, items: Any) -> bool:
    code = ord(char)
    for op, arg in items:
        if op is _op.LITERAL and arg == code:
            return True
        if op is _op.RANGE and arg[0] <= code <= arg[1]:
            return True
        if op is _op.CATEGORY and char in _category_chars(arg):
            return True
    return False
