"""A small program with known CPU and memory hotspots, to try profiler-kit on.

    profiler-kit run examples/hotspots.py
    profiler-kit run --memory examples/hotspots.py --size 2

``count_primes`` burns CPU in pure Python, ``build_index`` allocates many
small objects, ``render_rows`` builds large strings, and ``cached_table`` is
left allocated at exit.
"""

from __future__ import annotations

import argparse
import json

_CACHE: list[bytes] = []


def count_primes(limit: int) -> int:
    """Trial division: deliberately slow, pure-Python CPU work."""
    count = 0
    for candidate in range(2, limit):
        divisor = 2
        while divisor * divisor <= candidate:
            if candidate % divisor == 0:
                break
            divisor += 1
        else:
            count += 1
    return count


def build_index(words: int) -> dict[str, list[int]]:
    """Many small allocations: lists and strings in a dict."""
    index: dict[str, list[int]] = {}
    for position in range(words):
        key = f"word-{position % 5000}"
        index.setdefault(key, []).append(position)
    return index


def render_rows(index: dict[str, list[int]]) -> str:
    """A few large allocations: JSON text of the whole index."""
    return json.dumps({key: values[:50] for key, values in index.items()})


def cached_table(rows: int) -> None:
    """Memory that stays allocated at exit (a module-level cache)."""
    _CACHE.extend(bytes(1024) for _ in range(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1, help="scale the work (default 1)")
    options = parser.parse_args()
    primes = count_primes(60_000 * options.size)
    index = build_index(400_000 * options.size)
    text = render_rows(index)
    cached_table(2_000 * options.size)
    print(f"{primes} primes, {len(index)} keys, {len(text)} bytes of JSON")


if __name__ == "__main__":
    main()
