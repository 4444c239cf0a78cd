"""Synthea-like bulk load through transaction Bundles.

    python3 bench/synthea_like.py BASE PATIENTS CLAIMS_PER_PATIENT ENTRIES_PER_BUNDLE \
        CONCURRENCY IDS_OUT [FIRST_MRN]

Generates (deterministically, seed 2026) Patients with an MRN, name, birth date, sex,
address and phone, each with CLAIMS_PER_PATIENT professional Claims (ICD-10 diagnoses,
CPT lines, charges) that refer to the Patient through its `urn:uuid:` fullUrl. Every
Bundle is built before the clock starts, then POSTed to BASE by CONCURRENCY loaders,
one keep-alive connection each. Writes "mrn<TAB>patient id" lines for a sample of the
loaded Patients to IDS_OUT (the searches read them back) and prints one JSON line of
figures: resources, seconds, resources_per_second and per-Bundle commit latencies.
"""
import http.client
import json
import random
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

MRN_SYSTEM = "http://hospital.example.org/mrn"
FAMILIES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis",
            "Rodríguez", "Martínez", "Hernández", "López", "Gonzalez", "Wilson", "Nguyen", "Okafor"]
GIVEN = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
         "Aisha", "Wei", "José", "Fatima", "Noah", "Olivia", "Liam", "Emma"]
CITIES = [("Boston", "MA", "02118"), ("Springfield", "IL", "62701"), ("Austin", "TX", "73301"),
          ("Denver", "CO", "80202"), ("Portland", "OR", "97201")]
# (ICD-10-CM code, display), billable leaves from the 2026 tabular list.
DIAGNOSES = [("E11.9", "Type 2 diabetes mellitus without complications"),
             ("I10", "Essential (primary) hypertension"),
             ("J06.9", "Acute upper respiratory infection, unspecified"),
             ("M54.50", "Low back pain, unspecified"),
             ("Z00.00", "Encounter for general adult medical examination without abnormal findings")]
# (CPT code, charge)
SERVICES = [("99213", "125.00"), ("99214", "185.00"), ("99203", "160.00"),
            ("36415", "15.00"), ("80053", "48.50"), ("93000", "62.00")]


def patient(rng, n):
    city, state, postal = rng.choice(CITIES)
    return {
        "resourceType": "Patient",
        "identifier": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
            "system": MRN_SYSTEM, "value": f"MRN{n:08d}"}],
        "active": True,
        "name": [{"use": "official", "family": rng.choice(FAMILIES), "given": [rng.choice(GIVEN)]}],
        "telecom": [{"system": "phone", "value": f"555-{rng.randrange(1000, 9999)}", "use": "home"}],
        "gender": rng.choice(["male", "female"]),
        "birthDate": f"{rng.randrange(1930, 2020)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        "address": [{"line": [f"{rng.randrange(1, 999)} Main St"], "city": city, "state": state,
                     "postalCode": postal, "country": "US"}],
    }


def claim(rng, patient_url):
    day = f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    lines = rng.sample(SERVICES, rng.randrange(1, 4))
    diagnosis = rng.choice(DIAGNOSES)
    total = sum(float(charge) for _, charge in lines)
    return {
        "resourceType": "Claim",
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim",
        "patient": {"reference": patient_url},
        "billablePeriod": {"start": day, "end": day},
        "created": day,
        "provider": {"reference": "Organization/bench-clinic"},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/bench-coverage"}}],
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{
            "system": "http://hl7.org/fhir/sid/icd-10-cm", "code": diagnosis[0], "display": diagnosis[1]}]}}],
        "item": [{
            "sequence": i + 1, "diagnosisSequence": [1],
            "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]},
            "servicedDate": day, "quantity": {"value": 1},
            "unitPrice": {"value": float(charge), "currency": "USD"},
            "net": {"value": float(charge), "currency": "USD"},
        } for i, (code, charge) in enumerate(lines)],
        "total": {"value": round(total, 2), "currency": "USD"},
    }


def bundles(patients, claims_per_patient, entries_per_bundle, first_mrn):
    rng = random.Random(2026 + first_mrn)
    per_bundle = max(1, entries_per_bundle // (1 + claims_per_patient))
    for start in range(0, patients, per_bundle):
        entries, patients_in_bundle = [], []
        for n in range(start, min(start + per_bundle, patients)):
            url = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}"
            # Where the Patient's entry stands and its MRN: the loader reads the
            # id the server gave it from the same position of the response.
            patients_in_bundle.append((len(entries), f"MRN{n:08d}"))
            entries.append({"fullUrl": url, "resource": patient(rng, n),
                            "request": {"method": "POST", "url": "Patient"}})
            for _ in range(claims_per_patient):
                entries.append({"resource": claim(rng, url), "request": {"method": "POST", "url": "Claim"}})
        body = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}).encode()
        yield body, patients_in_bundle


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    base = urlparse(sys.argv[1])
    patients, claims_per_patient, entries_per_bundle, concurrency = map(int, sys.argv[2:6])
    ids_out = sys.argv[6]
    first_mrn = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    work = list(bundles(patients, claims_per_patient, entries_per_bundle, first_mrn))
    latencies, sample, errors = [], [], []
    lock = threading.Lock()
    queue = iter(enumerate(work))

    def loader():
        connection = http.client.HTTPConnection(base.hostname, base.port, timeout=600)
        while True:
            with lock:
                item = next(queue, None)
            if item is None or errors:
                return
            index, (body, patients_in_bundle) = item
            began = time.perf_counter()
            connection.request("POST", base.path, body, {"Content-Type": "application/fhir+json"})
            response = connection.getresponse()
            answer = response.read()
            took = time.perf_counter() - began
            if response.status != 200:
                errors.append(f"bundle {index}: {response.status} {answer[:500]!r}")
                return
            reply = json.loads(answer)
            with lock:
                latencies.append(took)
                # Every Patient's MRN and the id the server gave it.
                for position, mrn in patients_in_bundle:
                    location = reply["entry"][position]["response"]["location"]
                    sample.append((mrn, location.split("/")[1]))

    began = time.perf_counter()
    threads = [threading.Thread(target=loader) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        sys.exit(errors[0])
    resources = patients * (1 + claims_per_patient)
    with open(ids_out, "w") as out:
        for mrn, pid in sample:
            out.write(f"{mrn}\t{pid}\n")
    print(json.dumps({
        "resources": resources, "bundles": len(work), "seconds": round(seconds, 2),
        "resources_per_second": round(resources / seconds),
        "bundle_ms_p50": round(percentile(latencies, 50) * 1000),
        "bundle_ms_p99": round(percentile(latencies, 99) * 1000),
        "bundle_ms_max": round(max(latencies) * 1000),
    }))


if __name__ == "__main__":
    main()
