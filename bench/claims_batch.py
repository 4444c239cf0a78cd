"""Loads the data a claims batch refers to, then times one NDJSON batch.

    python3 bench/claims_batch.py http://127.0.0.1:18080 CLAIMS PATIENTS

PATIENTS patients, each with a Coverage, one clinic (billing provider) and one doctor
are created through one FHIR transaction; then CLAIMS intake requests (two service
lines, two diagnoses, spread over the patients and over the last 60 days so the
duplicate check finds nothing) go to `POST /api/claims/batch` in one request, whose
wall time is reported as one JSON line.
"""
import datetime
import json
import sys
import time
import urllib.request

NPI = "http://hl7.org/fhir/sid/us-npi"
TAX_ID = "urn:oid:2.16.840.1.113883.4.4"
ADDRESS = [{"line": ["1 Main St"], "city": "Durham", "state": "NC", "postalCode": "27701"}]


def post(url, body, content_type="application/json"):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=3600) as response:
        return json.load(response)


def setup(base, patients):
    entries = [
        {"fullUrl": "urn:uuid:clinic", "request": {"method": "POST", "url": "Organization"},
         "resource": {"resourceType": "Organization", "name": "Good Clinic", "address": ADDRESS,
                      "identifier": [{"system": NPI, "value": "1234567893"},
                                     {"system": TAX_ID, "value": "12-3456789"}]}},
        {"fullUrl": "urn:uuid:payer", "request": {"method": "POST", "url": "Organization"},
         "resource": {"resourceType": "Organization", "name": "Acme Health",
                      "identifier": [{"system": "urn:payer-id", "value": "ACME01"}]}},
        {"fullUrl": "urn:uuid:doctor", "request": {"method": "POST", "url": "Practitioner"},
         "resource": {"resourceType": "Practitioner", "name": [{"family": "Welby"}],
                      "identifier": [{"system": NPI, "value": "1245319599"}]}},
    ]
    for n in range(patients):
        entries.append({"fullUrl": f"urn:uuid:p{n}", "request": {"method": "POST", "url": "Patient"},
                        "resource": {"resourceType": "Patient", "name": [{"family": f"Doe{n}"}],
                                     "birthDate": "1980-02-29", "gender": "female", "address": ADDRESS}})
        entries.append({"fullUrl": f"urn:uuid:c{n}", "request": {"method": "POST", "url": "Coverage"},
                        "resource": {"resourceType": "Coverage", "status": "active", "subscriberId": f"M{n}",
                                     "beneficiary": {"reference": f"urn:uuid:p{n}"},
                                     "payor": [{"reference": "urn:uuid:payer"}], "period": {"start": "2020-01-01"}}})
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    answer = post(f"{base}/fhir", json.dumps(bundle).encode(), "application/fhir+json")
    ids = [e["response"]["location"].split("/")[1] for e in answer["entry"]]
    clinic, _payer, doctor = ids[:3]
    people = [(ids[3 + 2 * n], ids[4 + 2 * n]) for n in range(patients)]
    return clinic, doctor, people


def main():
    base, claims, patients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    clinic, doctor, people = setup(base, patients)
    today = datetime.date.today()
    lines = []
    for n in range(claims):
        patient, coverage = people[n % patients]
        served = (today - datetime.timedelta(days=1 + (n // patients) % 60)).isoformat()
        lines.append(json.dumps({
            "patient": {"reference": f"Patient/{patient}"},
            "provider": {"reference": f"Organization/{clinic}"},
            "coverage": {"reference": f"Coverage/{coverage}"},
            "rendering": {"reference": f"Practitioner/{doctor}"},
            "diagnoses": ["E11.9", "I10"],
            "procedures": [
                {"code": "99213", "modifiers": ["25"], "charge": "125.00", "serviceDate": served,
                 "diagnosisPointers": [1, 2], "placeOfService": "11"},
                {"code": "36415", "charge": "21.00", "serviceDate": served, "diagnosisPointers": [1],
                 "placeOfService": "11"},
            ],
        }))
    body = ("\n".join(lines) + "\n").encode()
    started = time.perf_counter()
    results = post(f"{base}/api/claims/batch", body, "application/x-ndjson")
    seconds = time.perf_counter() - started
    stored = sum(1 for r in results if r.get("claimId"))
    clean = sum(1 for r in results if r.get("cleanClaim"))
    refused = [r for r in results if not r.get("claimId")]
    if refused:
        print(f"{len(refused)} claims refused; the first: {json.dumps(refused[0])}", file=sys.stderr)
    print(json.dumps({"claims": claims, "stored": stored, "clean": clean, "seconds": round(seconds, 2),
                      "claims_per_second": round(claims / seconds)}))


if __name__ == "__main__":
    main()
