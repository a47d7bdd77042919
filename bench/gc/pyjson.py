# bench/gc/pyjson.py: a CPython workload for the collect mode pause (GOALLOC_GCTRACE):
#   PYTHONMALLOC=malloc GOALLOC_GC=collect GOALLOC_GCTRACE=1 LD_PRELOAD=<build>/libgoalloc.so.0.1.0 python3 bench/gc/pyjson.py
import json, random
d = {}
for i in range(300000):
    d[str(i)] = [random.random() for _ in range(5)]
s = json.dumps(d)
for k in range(5):
    x = json.loads(s)
print(len(s))
