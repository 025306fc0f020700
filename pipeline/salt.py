"""The secret salt of the identifier hashes (脱敏哈希盐).

Hashes of credit codes and phone numbers keep records joinable without storing the values; a
salt kept outside the warehouse stops anyone with read access from reversing them by brute force.
Order of precedence: ``YINGSHANG_HASH_SALT``, else the file named by ``YINGSHANG_SALT_FILE``, else
``var/hash_salt`` (created with a random value and mode 0600 on first use). Keep the same salt for
the life of a warehouse: a new salt makes old and new hashes disagree.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def hash_salt() -> str:
    env = os.environ.get("YINGSHANG_HASH_SALT")
    if env:
        return env
    path = Path(os.environ.get("YINGSHANG_SALT_FILE") or "var/hash_salt")
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: two processes starting at once must not each write a different salt.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value
