"""Submits CLAIMS clean claims through the job queue to a Claim.MD simulator and
times it (issue 6 figure: 1,000 claims in <= 10 s, each exactly once).

    python3 bench/claims_submit.py http://127.0.0.1:18080 http://127.0.0.1:18181 CLAIMS

The claims are made by one NDJSON intake batch (as bench/claims_batch.py makes
them) and come out `ready_to_submit`; a Claim.MD integration is configured against
the simulator; then the clock runs from the first `POST …/submit` until the jobs
API counts every submission job succeeded. The simulator's own record
(`/__simulator/claims`) proves each claim arrived exactly once. One JSON line.
"""
import json
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from claims_batch import setup  # noqa: E402

import datetime  # noqa: E402


def call(url, body=None, method=None, content_type="application/json"):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


def main():
    base, simulator, claims = sys.argv[1], sys.argv[2], int(sys.argv[3])
    patients = max(1, claims // 10)
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
            "procedures": [{"code": "99213", "charge": "125.00", "serviceDate": served,
                            "diagnosisPointers": [1, 2], "placeOfService": "11"}],
        }))
    results = call(f"{base}/api/claims/batch", ("\n".join(lines) + "\n").encode(), content_type="application/x-ndjson")
    ready = [r["claimId"] for r in results if r.get("status") == "ready_to_submit"]
    assert len(ready) == claims, f"{len(ready)} of {claims} claims came out ready"
    call(f"{base.replace('/fhir', '')}/admin/integrations", {
        "vendor": "claimmd", "name": "Claim.MD simulator", "baseUrl": simulator,
        "settings": {"requestsPerMinute": 10_000_000},
        "credentials": {"accountKey": "claimmd-simulator-account-key"},
    })

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda claim: call(f"{base}/api/billing/claims/{claim}/submit", {}), ready))
    queued = time.perf_counter() - started
    while True:
        kinds = call(f"{base}/api/billing/jobs/status")["kinds"]
        done = next((k for k in kinds if k["kind"] == "claim_submission"), {})
        if done.get("succeeded", 0) + done.get("dead", 0) >= claims:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started

    received = call(f"{simulator}/__simulator/claims")
    once = sum(1 for claim in received if claim["timesReceived"] == 1)
    print(json.dumps({
        "bench": "claims_submit", "claims": claims, "succeeded": done.get("succeeded", 0),
        "dead": done.get("dead", 0), "queued_s": round(queued, 2), "all_submitted_s": round(elapsed, 2),
        "claims_per_s": round(claims / elapsed), "received_by_simulator": len(received),
        "received_exactly_once": once,
    }))


if __name__ == "__main__":
    main()
