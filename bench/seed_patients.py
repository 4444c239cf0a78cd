"""Seeds `count` Patients with ids bench-1..bench-N over one keep-alive connection
(with the bearer token in $TOKEN, when the server requires one)."""
import http.client
import json
import os
import sys
from urllib.parse import urlparse

base, count = urlparse(sys.argv[1]), int(sys.argv[2])
patient = json.load(open("tests/fixtures/fhir-examples/Patient-example.json"))
connection = http.client.HTTPConnection(base.hostname, base.port)
for n in range(1, count + 1):
    patient["id"] = f"bench-{n}"
    headers = {"Content-Type": "application/fhir+json", "Prefer": "return=minimal"}
    if os.environ.get("TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['TOKEN']}"
    connection.request("PUT", f"{base.path}/Patient/bench-{n}", json.dumps(patient), headers)
    response = connection.getresponse()
    response.read()
    if response.status not in (200, 201):
        sys.exit(f"seeding Patient/bench-{n} failed: {response.status}")
