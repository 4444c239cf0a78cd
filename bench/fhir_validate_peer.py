"""FHIR JSON validation throughput of fhir.resources on the same files as
`cargo bench --bench fhir_validate`.

    python3 bench/fhir_validate_peer.py FILE…

Each file's text is parsed and validated into its resource model (pydantic v2, the
package's full structural validation: types, cardinalities, required elements,
choice types, unknown elements refused) for three seconds after a short warm-up; one
JSON line per file. fhir.resources 8 models R5 with R4B as a subpackage and no R4
(4.0.1); R4B is used: the resources measured here have the same shape in both.
"""
import json
import sys
import time
from importlib import import_module, metadata

RUN = 3.0


def model_of(resource_type):
    module = import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def rate(validate, text):
    end = time.perf_counter() + RUN / 10
    while time.perf_counter() < end:
        validate(text)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < RUN:
        for _ in range(20):
            validate(text)
        count += 20
    seconds = time.perf_counter() - started
    return count / seconds, seconds * 1e6 / count


def main():
    version = metadata.version("fhir.resources")
    for path in sys.argv[1:]:
        text = open(path, encoding="utf-8").read()
        model = model_of(json.loads(text)["resourceType"])
        per_second, micros = rate(model.model_validate_json, text)
        print(json.dumps({"validator": f"fhir.resources {version} (R4B)", "file": path,
                          "bytes": len(text.encode()), "resources_per_second": round(per_second),
                          "microseconds_per_resource": round(micros, 2)}))


if __name__ == "__main__":
    main()
