"""Runs every benchmark in bench/ and prints its numbers (`make bench`)."""

import importlib
import sys

BENCHES = ("start", "evaluator", "check", "load")

if __name__ == "__main__":
    for name in sys.argv[1:] or BENCHES:
        module = importlib.import_module(name)
        module.main([]) if name == "load" else module.main()
