#!/usr/bin/env python3
"""Produce api-models/<service>.json from botocore's service models, one per AWS service berth
serves.

A model is the contract berth is built against: the protocol layer routes, decodes and validates
every request with it and (in debug builds) checks every response. Documentation strings are stripped so the file
stays small; everything else (shapes, members, enums, required lists, operations and their
errors) is kept as botocore ships it.

Usage: python3 scripts/gen-model.py   (rewrites every file in api-models/)
"""
import gzip
import json
import os
import sys

import botocore

DATA = os.path.join(os.path.dirname(botocore.__file__), "data")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api-models")
# berth's name for the service (its file and its folder in src/services/) -> botocore's data dir.
SERVICES = {
    "cloudwatch": "cloudwatch/2010-08-01",
    "ecs": "ecs/2014-11-13",
    "logs": "logs/2014-03-28",
    "secretsmanager": "secretsmanager/2017-10-17",
    "sts": "sts/2011-06-15",
}
DROP = {"documentation", "documentationUrl", "examples", "deprecatedMessage"}


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def load(src):
    if os.path.exists(src):
        with open(src) as f:
            return json.load(f)
    with gzip.open(src + ".gz") as f:
        return json.load(f)


def main():
    for name, data in SERVICES.items():
        model = strip(load(os.path.join(DATA, data, "service-2.json")))
        model["metadata"]["berthSource"] = f"botocore {botocore.__version__}: data/{data}/service-2.json"
        out = os.path.join(OUT, f"{name}.json")
        with open(out, "w") as f:
            json.dump(model, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"wrote {os.path.relpath(out)}: {len(model['operations'])} operations, {len(model['shapes'])} shapes", file=sys.stderr)


if __name__ == "__main__":
    main()
