# Strict JSON (RFC 8259) and strict UTF-8, checked byte by byte.
#
# MicroPython's json module takes more than JSON: trailing commas, missing
# commas, raw control characters in strings, overlong or surrogate UTF-8.
# CPython's takes NaN and Infinity. runtime/config.py scans config.json with
# scan() before either parses it, so the board and the host tools (which run
# the same files under CPython) accept exactly the same files.
#
# Each helper returns the index just past what it read, or -1 when JSON
# allows no such thing there. Little is allocated: the bracket stack and a
# few small slices.


def scan(b, depth):
    # Index of the first byte where b stops being JSON, or -1 when all of it is.
    # Arrays and objects nested deeper than `depth` count as not JSON.
    n = len(b)
    stack = []  # the open brackets
    i, key, value = 0, False, True  # next: a member's name, a value, or else , ] } or the end
    while True:
        i = _skip(b, i, b" \t\r\n")
        if i >= n:
            return -1 if not (key or value or stack) else n
        c = b[i]
        if key:
            j = _string(b, i)
            j = _skip(b, j, b" \t\r\n") if j > 0 else n
            if j >= n or b[j] != 58:  # :
                return i
            i, key, value = j + 1, False, True
        elif value:
            if c == 123 or c == 91:  # { [
                if len(stack) >= depth:
                    return i
                i = _skip(b, i + 1, b" \t\r\n")
                if i < n and b[i] == c + 2:  # {} []
                    i, value = i + 1, False
                else:
                    stack.append(c)
                    key = c == 123
                    value = not key
                continue
            j = _string(b, i) if c == 34 else _word(b, i) if c in b"tfn" else _number(b, i)
            if j < 0:
                return i
            i, value = j, False
        elif stack and c == 44:  # ,
            key = stack[-1] == 123
            i, value = i + 1, not key
        elif stack and c == stack[-1] + 2:  # } ]
            stack.pop()
            i += 1
        else:
            return i


def _skip(b, i, chars):
    while i < len(b) and b[i] in chars:
        i += 1
    return i


def _word(b, i):
    for w in (b"true", b"false", b"null"):
        if b[i:i + len(w)] == w:
            return i + len(w)
    return -1


def _number(b, i):
    # -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    i += b[i] == 45  # -
    j = _skip(b, i, b"0123456789")
    if j == i or (b[i] == 48 and j > i + 1):  # no digit, or a leading zero
        return -1
    for mark, sign in ((b".", b""), (b"eE", b"+-")):
        if j < len(b) and b[j] in mark:
            i = j + 1
            i += i < len(b) and b[i] in sign
            j = _skip(b, i, b"0123456789")
            if j == i:
                return -1
    return j


def _string(b, i):
    # Strict UTF-8, no raw control character, only JSON's escapes.
    if b[i] != 34:
        return -1
    i += 1
    while i < len(b):
        c = b[i]
        if c == 34:
            return i + 1
        if c == 92:  # backslash
            e = b[i + 1:i + 2]
            if e == b"u" and len(b[i + 2:_skip(b, i + 2, b"0123456789abcdefABCDEF")]) >= 4:
                i += 6
            elif e and e in b'"\\/bfnrt':
                i += 2
            else:
                return -1
        elif c < 32:
            return -1
        else:
            i = utf8(b, i)
            if i < 0:
                return -1
    return -1


def utf8(b, i):
    # Index past the strict UTF-8 character at b[i], or -1: a stray or missing
    # continuation byte, an overlong form (c0 80), a surrogate (ed a0 80) or a
    # code point above U+10FFFF (f4 90 80 80). The setup page checks its fields
    # with it too.
    c = b[i]
    if c < 128:
        return i + 1
    more = 1 if c < 0xE0 else 2 if c < 0xF0 else 3
    cp = c & (0x3F >> more)
    for k in range(i + 1, i + 1 + more):
        if k >= len(b) or b[k] & 0xC0 != 0x80:
            return -1
        cp = cp << 6 | b[k] & 0x3F
    if not 0xC2 <= c <= 0xF4 or cp < (0x80, 0x800, 0x10000)[more - 1] or 0xD800 <= cp < 0xE000 or cp > 0x10FFFF:
        return -1
    return i + 1 + more
