"""Reduce regrtest's --junit-xml file to one sorted line per test case,
"name outcome", without timings, so two runs can be compared with diff."""
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
lines = []
for case in root.iter("testcase"):
    outcome = case.get("result", "?")
    for kind in ("skipped", "failure", "error"):
        if case.find(kind) is not None:
            outcome = kind
    lines.append(f"{case.get('name')} {outcome}")
for line in sorted(lines):
    print(line)
