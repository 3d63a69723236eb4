#!/usr/bin/env python3
"""Produce api-models/ecs.json from botocore's ECS service model.

The model is the contract berth is built against: the protocol layer validates every request
against it and (in debug builds) every response. Documentation strings are stripped so the file
stays small; everything else (shapes, members, enums, required lists, operations and their
errors) is kept as botocore ships it.

Usage: python3 scripts/gen-model.py   (rewrites api-models/ecs.json)
"""
import gzip
import json
import os
import sys

import botocore

SRC = os.path.join(os.path.dirname(botocore.__file__), "data", "ecs", "2014-11-13", "service-2.json")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api-models", "ecs.json")
DROP = {"documentation", "documentationUrl", "examples", "deprecatedMessage"}


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def load():
    if os.path.exists(SRC):
        with open(SRC) as f:
            return json.load(f)
    with gzip.open(SRC + ".gz") as f:
        return json.load(f)


def main():
    model = strip(load())
    model["metadata"]["berthSource"] = f"botocore {botocore.__version__}: data/ecs/2014-11-13/service-2.json"
    with open(OUT, "w") as f:
        json.dump(model, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT)}: {len(model['operations'])} operations, {len(model['shapes'])} shapes", file=sys.stderr)


if __name__ == "__main__":
    main()
