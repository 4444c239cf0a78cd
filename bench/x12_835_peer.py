"""Parse-only throughput of 835 files with the Python linuxforhealth-x12 package, the
peer of benches/x12_835.rs (run both on the same files).

    python bench/x12_835_peer.py FILE.835…

The package reads each file into its validated 005010X221A1 model (pydantic), what a
user of it gets; the text is read once and parsed from memory, as the Rust bench does.
Each file is parsed for three seconds after a warm-up of a tenth of that; one JSON
line per file. Needs `pip install linuxforhealth-x12 'pydantic<2'` (the package
imports pydantic 1's BaseSettings without pinning pydantic 1).
"""
import json
import sys
import time
from importlib.metadata import version

from linuxforhealth.x12.io import X12ModelReader

RUN = 3.0


def parse(text):
    with X12ModelReader(text) as reader:
        models = list(reader.models())
    # Touch the payment so the parse cannot be cut short.
    return models[0].header.bpr_segment.total_actual_provider_payment_amount


def rate(text):
    end = time.perf_counter() + RUN / 10
    while time.perf_counter() < end:
        parse(text)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < RUN:
        for _ in range(10):
            parse(text)
        count += 10
    seconds = time.perf_counter() - started
    return count / seconds, seconds * 1e6 / count


def main():
    name = f"linuxforhealth-x12 {version('linuxforhealth-x12')}"
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        per_second, micros = rate(text)
        print(json.dumps({"parser": name, "file": path, "bytes": len(text.encode()),
                          "messages_per_second": round(per_second),
                          "microseconds_per_message": round(micros, 2)}))


if __name__ == "__main__":
    main()
