"""IAM's two wildcards (`*` any run of characters, `?` exactly one) as compiled regular expressions."""

import re
from functools import lru_cache


@lru_cache(maxsize=8192)
def glob_to_regex(pattern: str) -> str:
    """Regex source for an IAM glob: `*` and `?` are wildcards, everything else is literal."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


@lru_cache(maxsize=8192)
def compile_glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    flags = re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE
    return re.compile(glob_to_regex(pattern), flags)


def glob_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """True when `value` matches the whole IAM glob `pattern`."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern == value if case_sensitive else pattern.lower() == value.lower()
    return compile_glob(pattern, case_sensitive).fullmatch(value) is not None

