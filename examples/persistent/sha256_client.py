#!/usr/bin/env python3
"""A reference client of waymark's exec-persistent protocol, standard library only.

Reads one JSON request per line on stdin and writes one JSON response per line on stdout:
    {"index": 3, "idempotencyKey": "b:3", "attempt": 1, "item": ...}  ->  {"result": ...}
    {"items": [<request>, ...]}                                        ->  {"outcomes": [<response>, ...]}
A response is {"result": ...}, {"error": {"message": ..., "type": ..., "retryable": false}} or
{"retryAfterSeconds": N}, optionally with "usage": {"tokens": ..., "costUsd": ...}.
Logs go to stderr, never stdout. Exits at stdin EOF.

Its work: the SHA-256 of the item's text (a string as is, anything else as its JSON), like the
built-in sha256 processor. With --once it is an `exec` program instead: one item's JSON on
stdin, its hash on stdout.
"""
import datetime  # noqa: F401  (the imports of a typical script: their start-up is what exec pays per item)
import decimal  # noqa: F401
import hashlib
import json
import sys


def handle(item):
    text = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def respond(request):
    try:
        return {"result": handle(request["item"])}
    except Exception as err:  # one item's bug is that item's failure, not the program's end
        return {"error": {"message": str(err), "type": type(err).__name__, "retryable": True}}


def serve():
    for line in sys.stdin:
        request = json.loads(line)
        if "items" in request:
            response = {"outcomes": [respond(r) for r in request["items"]]}
        else:
            response = respond(request)
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["--once"]:
        print(handle(json.loads(sys.stdin.read())))
    else:
        serve()
