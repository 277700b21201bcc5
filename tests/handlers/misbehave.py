"""Test handler speaking Ripple's protocol directly: misbehaves as each event's payload asks."""

import json
import os
import sys
import time

for line in sys.stdin:
    message = json.loads(line)
    if message["type"] == "hello":
        answer = {"type": "ready", "id": message["id"]}
    else:
        do = message["payload"].get("do", "ok")
        if do == "crash":
            sys.stderr.write("boom: the handler fell over\n")
            sys.stderr.flush()
            os._exit(3)
        elif do == "hang":
            time.sleep(30)
            answer = {}
        elif do == "garbage":
            sys.stdout.write("this is not JSON\n")
            sys.stdout.flush()
            continue
        elif do == "extra":
            # An answer, then a line nobody asked for (an old one again).
            ok = {"type": "outcome", "seq": message["seq"],
                  "outcome": {"severity": "info", "target": "pid%d" % os.getpid()}}
            sys.stdout.write(json.dumps(ok) + "\n" + json.dumps(ok) + "\n")
            sys.stdout.flush()
            continue
        elif do == "raise":
            answer = {
                "type": "error",
                "error": "RuntimeError",
                "traceback": "Traceback (most recent call last):\nRuntimeError: simulated handler failure\n",
            }
        elif do == "slow":
            answer = {"type": "outcome", "outcome": None, "elapsed_ms": 5000}
        else:
            answer = {
                "type": "outcome",
                "outcome": {"severity": "info", "target": "pid%d" % os.getpid(), "rationale": "ok"},
            }
    answer["seq"] = message["seq"]
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
