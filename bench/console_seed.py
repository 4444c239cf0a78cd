"""Gives a benchmark database's claims payer decisions, as a month of ERAs would.

    python3 bench/console_seed.py http://127.0.0.1:18080 DENIED PAID

Posts one 835 (005010X221A1) whose first DENIED claim payments deny claims CB1,
CB2, ... (CARC/RARC rotating over common reasons: each has a denial record, a
category and a playbook action) and whose next PAID pay claims in full, so the
console's worklist filters, claim pages and dashboard charts have denials and
payments to show. Prints one JSON line with the posting's wall time.
"""
import json
import sys
import time
import urllib.request

ISA = ("ISA*00*          *00*          *ZZ*ACME01         *ZZ*CLAIMBRIDGE    "
       "*261101*1200*^*00501*000000001*0*P*:~")
REASONS = [("CO", "50", "N115"), ("CO", "16", "N290"), ("CO", "97", "M15"), ("PR", "204", "N130"),
           ("CO", "29", ""), ("CO", "197", "N54")]


def claim_payment(number, denied, reason):
    if denied:
        group, carc, rarc = reason
        remark = f"MOA***{rarc}~" if rarc else ""
        return (f"CLP*CB{number}*4*146.00*0**12*ICN{number}~CAS*{group}*{carc}*146.00~"
                f"NM1*QC*1*DOE*JANE****MI*M{number}~{remark}")
    return (f"CLP*CB{number}*1*146.00*146.00**12*ICN{number}~NM1*QC*1*DOE*JANE****MI*M{number}~"
            f"SVC*HC:99213:25*125.00*125.00**1~SVC*HC:36415*21.00*21.00**1~")


def main():
    base, denied, paid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    claims = [claim_payment(n, True, REASONS[n % len(REASONS)]) for n in range(1, denied + 1)]
    claims += [claim_payment(n, False, None) for n in range(denied + 1, denied + paid + 1)]
    total = f"{146 * paid:.2f}"
    body = (f"BPR*I*{total}*C*ACH************20261101~TRN*1*BENCH-ERA-1*1999999999~DTM*405*20261101~"
            f"N1*PR*ACME HEALTH~REF*2U*ACME01~N1*PE*GOOD CLINIC*XX*1234567893~LX*1~{''.join(claims)}")
    segments = body.count("~") + 2
    text = (f"{ISA}GS*HP*ACME01*CLAIMBRIDGE*20261101*1200*1*X*005010X221A1~ST*835*0001~{body}"
            f"SE*{segments}*0001~GE*1*1~IEA*1*000000001~")
    request = urllib.request.Request(f"{base}/api/billing/remittance", data=text.encode(),
                                     headers={"Content-Type": "application/edi-x12"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=3600) as response:
        report = json.load(response)
    seconds = time.perf_counter() - started
    posted = report["remittances"][0]
    print(json.dumps({"denied": denied, "paid": paid, "posted": len(posted.get("posted", [])),
                      "unmatched": len(posted.get("unmatched", [])), "seconds": round(seconds, 2)}))


if __name__ == "__main__":
    main()
