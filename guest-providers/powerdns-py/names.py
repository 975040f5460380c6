"""Pure helpers for DNS names, TXT content and URLs: no wasi imports, so the host's Python
can test them (`python3 -m unittest` in this directory)."""

from typing import Iterable, Optional
from urllib.parse import urlsplit


def absolute(name: str) -> str:
    """`name` with exactly one trailing dot."""
    return name.strip().rstrip(".") + "."


def same_name(a: str, b: str) -> bool:
    """Whether two DNS names are equal, ignoring case and the trailing dot."""
    return absolute(a).lower() == absolute(b).lower()


def longest_zone(fqdn: str, zones: Iterable[str]) -> Optional[str]:
    """The longest of `zones` that is `fqdn` or one of its parents, absolute and lower-case."""
    name = absolute(fqdn).lower()
    best = None
    for zone in zones:
        zone = absolute(zone).lower()
        if zone == "." or name == zone or name.endswith("." + zone):
            if best is None or len(zone) > len(best):
                best = zone
    return best


def quote(value: str) -> str:
    """A TXT value as PowerDNS content: one quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(content: str) -> str:
    """The text of TXT content: the quoted strings joined, escapes undone."""
    text = []
    in_string = False
    chars = iter(content)
    for c in chars:
        if c == '"':
            in_string = not in_string
        elif c == "\\" and in_string:
            text.append(next(chars, ""))
        elif in_string:
            text.append(c)
    if not text and '"' not in content:
        return content
    return "".join(text)


def origin(url: str) -> Optional[str]:
    """`scheme://host[:port]` of an http(s) URL, as an allow-list entry."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{scheme}://{parts.netloc.lower()}"


def encode(s: str) -> str:
    """Percent-encodes everything but unreserved characters and `*`, for a path segment or a
    query value."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if (c.isascii() and c.isalnum()) or c in "-._~*":
            out.append(c)
        else:
            out.append(f"%{b:02X}")
    return "".join(out)
