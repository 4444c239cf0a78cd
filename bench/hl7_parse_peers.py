"""Parse-only throughput of the same HL7 v2 files with python-hl7 and hl7apy.

    python3 bench/hl7_parse_peers.py FILE…

Each parser gets the message with `\\r` segment endings (what both expect) and parses
it for three seconds after a short warm-up; one JSON line per parser and file.
hl7apy parses without validation and without grouping segments, its cheapest mode.
"""
import json
import sys
import time

import hl7
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

RUN = 3.0


def rate(parse, text):
    end = time.perf_counter() + RUN / 10
    while time.perf_counter() < end:
        parse(text)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < RUN:
        for _ in range(20):
            parse(text)
        count += 20
    seconds = time.perf_counter() - started
    return count / seconds, seconds * 1e6 / count


def main():
    parsers = {
        f"python-hl7 {hl7.__version__}": lambda text: hl7.parse(text)["PID"][0][3],
        "hl7apy 1.3.5": lambda text: parse_message(
            text, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False).pid.pid_3.value,
    }
    for path in sys.argv[1:]:
        raw = open(path, encoding="utf-8-sig").read()
        text = raw.replace("\r\n", "\r").replace("\n", "\r").rstrip("\r")
        for name, parse in parsers.items():
            per_second, micros = rate(parse, text)
            print(json.dumps({"parser": name, "file": path, "bytes": len(raw.encode()),
                              "messages_per_second": round(per_second),
                              "microseconds_per_message": round(micros, 2)}))


if __name__ == "__main__":
    main()
