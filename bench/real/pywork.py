"""pywork.py - a fixed, allocation-heavy CPython workload for bench/run.

Run as:  PYTHONMALLOC=malloc PYTHONHASHSEED=0 python3.11 -S pywork.py [SCALE]
With PYTHONMALLOC=malloc every Python object (including the small ones
pymalloc would otherwise pool) comes from the C allocator under test.
Deterministic: fixed seeds, no time, no I/O but one line of output (a digest
bench/run compares between allocators).  Checks its own results and exits
with status 3 on a mismatch.
"""
import hashlib
import json
import random
import sys

SCALE = int(sys.argv[1]) if len(sys.argv) > 1 else 1
rng = random.Random(20240601)
digest = hashlib.sha256()


def fail(msg):
    sys.stderr.write("CORRUPT: pywork: %s\n" % msg)
    sys.exit(3)


class Record:
    def __init__(self, key, name, values):
        self.key = key
        self.name = name
        self.values = values
        self.tags = {}

    def score(self):
        return sum(self.values) + len(self.name) * 7 + len(self.tags)


def words(n):
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 12))) for _ in range(n)]


def phase_records(n):
    """Many small objects in dicts and lists; churn by deleting and re-adding."""
    vocab = words(4000)
    table = {}
    for i in range(n):
        name = vocab[i % len(vocab)] + str(i)
        r = Record(i, name, [rng.randint(0, 1000) for _ in range(rng.randint(1, 8))])
        r.tags[vocab[(i * 7) % len(vocab)]] = i
        table[name] = r
    total = 0
    for gen in range(3):
        doomed = [k for k in table if hash(k) % 3 == gen]
        for k in doomed:
            total += table.pop(k).score()
        for j in range(len(doomed) // 2):
            name = "g%d_%d" % (gen, j)
            table[name] = Record(j, name, list(range(j % 5 + 1)))
    total += sum(r.score() for r in table.values())
    digest.update(str((len(table), total)).encode())
    return total


def phase_json(n):
    """Nested containers, serialised and parsed back."""
    doc = []
    for i in range(n):
        doc.append({
            "id": i,
            "name": "item-%06d" % i,
            "price": round(rng.random() * 1000, 2),
            "tags": [rng.choice(["red", "green", "blue", "big", "small"]) for _ in range(rng.randint(0, 5))],
            "dims": {"w": rng.randint(1, 100), "h": rng.randint(1, 100)},
        })
    text = json.dumps(doc, sort_keys=True)
    back = json.loads(text)
    if back != doc:
        fail("json round trip differs")
    digest.update(hashlib.sha256(text.encode()).digest())
    return len(text)


def phase_strings(n):
    """String building, splitting, joining, formatting."""
    parts = []
    for i in range(n):
        parts.append("%d:%s;" % (i, "x" * (i % 17)))
    s = "".join(parts)
    fields = s.split(";")
    if len(fields) != n + 1:
        fail("split gave %d fields" % len(fields))
    upper = [f.upper() for f in fields if f]
    counts = {}
    for f in upper:
        k = f.count("X")
        counts[k] = counts.get(k, 0) + 1
    for k in range(17):
        want = sum(1 for i in range(n) if i % 17 == k)
        if counts.get(k, 0) != want:
            fail("string count %d: %d != %d" % (k, counts.get(k, 0), want))
    digest.update(repr(sorted(counts.items())).encode())
    return len(s)


def phase_sort(n):
    """Tuples, sorting, sets, comprehension garbage."""
    rows = [(rng.randint(0, 10 ** 6), "k%d" % rng.randint(0, 10 ** 5), i) for i in range(n)]
    rows.sort()
    for a, b in zip(rows, rows[1:]):
        if a > b:
            fail("sort order")
    keys = {r[1] for r in rows}
    groups = {}
    for r in rows:
        groups.setdefault(r[1], []).append(r[0])
    if len(groups) != len(keys):
        fail("group count")
    med = sorted(len(v) for v in groups.values())[len(groups) // 2]
    digest.update(str((len(keys), med, rows[0], rows[-1])).encode())
    return len(keys)


def phase_trees(depth, iters):
    """Recursive tuples: short-lived small objects."""
    def make(d):
        return (make(d - 1), make(d - 1)) if d else (None, None)

    def count(t):
        return 1 if t[0] is None else 1 + count(t[0]) + count(t[1])

    total = 0
    for _ in range(iters):
        total += count(make(depth))
    if total != iters * (2 ** (depth + 1) - 1):
        fail("tree count %d" % total)
    digest.update(str(total).encode())
    return total


for _ in range(SCALE):
    phase_records(30000)
    phase_json(12000)
    phase_strings(80000)
    phase_sort(60000)
    phase_trees(14, 6)
print(digest.hexdigest())
