"""What the rules checkers (`check_compose.py`, `check_k8s.py`) share: read
the resolved YAML on stdin, print every broken rule, exit non-zero if any."""

import sys

import yaml


def main(name, problems, load=yaml.safe_load, count=len):
    """Runs `problems(document)` on stdin's YAML; `count` says how many things were checked."""
    document = load(sys.stdin)
    found = problems(document)
    for problem in found:
        print(f"{name}: {problem}", file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"{name}: {count(document)}, every rule holds")
