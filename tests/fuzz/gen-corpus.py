#!/usr/bin/env python3
"""Writes the seed corpus (tests/fuzz/corpus/) for fuzz_api.c.

Each seed is a short program in the target's input encoding that exercises
one area; libFuzzer mutates from there. The encoding must match run_op() and
rd_size() in fuzz_api.c: rerun this script after changing either.

    python3 tests/fuzz/gen-corpus.py [OUTDIR]
"""
import os
import sys

OPS = ["MALLOC", "MALLOC_NOSCAN", "CALLOC", "CALLOC_NOSCAN", "REALLOC",
       "REALLOC_REL", "REALLOCARRAY", "POSIX_MEMALIGN", "ALIGNED_ALLOC",
       "MEMALIGN", "VALLOC", "FREE", "FREE_SIZED", "USABLE_SIZE", "TRIM",
       "STATS", "CHECK", "IMPOSSIBLE", "BURST", "FREE_RANGE", "REWRITE"]
OP = {name: i for i, name in enumerate(OPS)}
NUM_CLASSES = 67  # size classes 1..67 (sizeclasses_table.h)


def u16(v):
    assert 0 <= v < 65536, v
    return [v & 0xFF, v >> 8]


def size(n):
    """Bytes rd_size() decodes to exactly n."""
    if n <= 16:
        return [0, n]
    if n <= 1024:
        return [1] + u16(n - 17)
    if n <= 32768:
        return [2] + u16(n - 1025)
    if n - 32769 < 65536:
        return [5] + u16(n - 32769)
    if (n - 32769) % 4 == 0 and (n - 32769) // 4 < 65536:
        return [6] + u16((n - 32769) // 4)
    for d in (-1, 0, 1):  # powers of two and their neighbours
        p = n - d
        if p > 0 and p & (p - 1) == 0 and p.bit_length() - 1 < 21:
            return [7 | (d + 1) << 3, p.bit_length() - 1]
    raise ValueError("size %d has no exact encoding" % n)


def class_boundary(i, d):
    """Size class i (1-based) plus d in -1..1."""
    return [3 | (d + 1) << 3, i - 1]


def page_size(pages, d):
    return [4 | (d + 1) << 3, pages - 1]


def op(name, slot, *rest):
    out = [OP[name], slot]
    for r in rest:
        out += r if isinstance(r, list) else [r]
    return out


SEEDS = {}

# Tiny and small sizes, every free variant, usable size.
s = []
for i, n in enumerate([0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 25, 31, 32, 33, 48, 100]):
    s += op("MALLOC" if i % 2 else "MALLOC_NOSCAN", i, size(n))
for i in range(20):
    s += op("USABLE_SIZE", i)
s += op("STATS", 0)
for i in range(0, 20, 2):
    s += op("FREE_SIZED", i)
for i in range(1, 20, 2):
    s += op("FREE", i)
s += op("STATS", 0)
SEEDS["small-mix"] = s

# Every class size and its neighbours.
s = []
for c in range(1, NUM_CLASSES + 1):
    for d in (-1, 0, 1):
        s += op("MALLOC", (3 * c + d + 1) % 256, class_boundary(c, d))
s += op("STATS", 0)
SEEDS["class-boundaries"] = s

# Large objects around the small/large limit and page multiples, realloc
# across the limit, trim with large blocks live.
s = []
for i, (p, d) in enumerate([(4, 1), (4, 0), (5, -1), (1, 0), (8, 1), (16, 0), (33, -1), (40, 1)]):
    s += op("MALLOC", i, page_size(p, d))
s += op("MALLOC", 10, size(32767)) + op("MALLOC", 11, size(32769))
s += op("REALLOC", 10, size(40000), 0, 0) + op("REALLOC", 11, size(30000), 0, 0)
s += op("REALLOC", 12, size(1 << 20), 0, 0) + op("REALLOC", 12, size(100), 0, 0)
s += op("FREE", 2) + op("FREE", 4) + op("TRIM", 0, 0) + op("STATS", 0)
s += op("CALLOC", 2, size(65536), 1) + op("CALLOC", 4, size(32769 + 4 * 60000), 3)
s += op("TRIM", 0, 0)
SEEDS["large"] = s

# Aligned allocations of every alignment 1..64 KiB, the page-aligned ones,
# bad posix_memalign alignments, free_aligned_sized.
s = []
for sh in range(17):
    s += op("ALIGNED_ALLOC", sh, sh, size([1, 24, 100, 5000][sh % 4]))
    s += op("MEMALIGN", 32 + sh, sh, size([8, 16, 33, 40000][sh % 4]))
for sh in range(14):
    s += op("POSIX_MEMALIGN", 64 + sh, sh, size(3 + 97 * sh))
for b in range(0xF8, 0x100):
    s += op("POSIX_MEMALIGN", 100, b, size(10))
s += op("VALLOC", 110, 0, size(1)) + op("VALLOC", 111, 1, size(5000))
for sh in range(17):
    s += op("FREE_SIZED", sh)  # free_aligned_sized for aligned_alloc blocks
s += op("STATS", 0)
SEEDS["aligned"] = s

# Every impossible request, with and without a live block to realloc.
def impossible(w, kind, j, align_shift):
    """Cases 2, 3 and 10 read one more byte (a count or exponent)."""
    return op("IMPOSSIBLE", 0, w, kind, u16(j), align_shift) + ([3] if w in (2, 3, 10) else [])


s = []
for w in range(13):
    s += impossible(w, w % 6, 0, 12)
s += op("MALLOC", 0, size(100))
for w in range(9, 13):
    s += impossible(w, (w + 3) % 6, 1, 4)
SEEDS["impossible"] = s

# Fill spans with bursts, empty them in different orders, reuse via calloc.
s = []
s += op("BURST", 0, 63, size(48), 0) + op("BURST", 64, 63, size(4096), 0)
s += op("BURST", 128, 40, size(7), 0) + op("STATS", 0)
s += op("FREE_RANGE", 0, 127, 0) + op("FREE_RANGE", 127, 127, 1)
s += op("BURST", 0, 63, size(48), 1) + op("BURST", 64, 63, size(4096), 1)
s += op("TRIM", 0, 0) + op("BURST", 128, 63, size(1024), 1) + op("STATS", 0)
SEEDS["burst-reuse"] = s

# A block grown and shrunk step by step: in-place and moving reallocs.
s = op("MALLOC", 5, size(1))
for b in [0, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26]:
    s += op("REALLOC_REL", 5, b | 1, 200)
    s += op("REWRITE", 5)
for b in [26, 22, 18, 14, 10, 6, 2, 0]:
    s += op("REALLOC_REL", 5, 0x80 | b | 1, 255)
s += op("REALLOCARRAY", 5, size(1000), 7)
SEEDS["realloc-chain"] = s

# calloc on memory just freed and on memory trim gave back.
s = []
for i in range(8):
    s += op("MALLOC", i, size(8192 * (i + 1)))
for i in range(8):
    s += op("FREE", i)
for i in range(8):
    s += op("CALLOC_NOSCAN", i, size(8192 * (8 - i)), 1)
s += op("FREE_RANGE", 0, 7, 0) + op("TRIM", 0, 0)
for i in range(8):
    s += op("CALLOC", i, size(4000 * (i + 1)), 4)
SEEDS["calloc-reuse"] = s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes(data))


if __name__ == "__main__":
    main()
