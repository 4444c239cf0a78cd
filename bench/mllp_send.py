"""Sends COUNT ADT^A01 messages over one MLLP connection and waits for each ACK.

    python3 bench/mllp_send.py HOST:PORT COUNT bench/adt_a01.hl7

The template's {control_id}, {mrn} and {visit} are replaced per message (as
benches/mllp_load.rs does), so each message makes its own Patient, Encounter and
Coverage. Exits non-zero on any ACK other than AA. For the storage figure of
bench/hl7_storage.sh; throughput is benches/mllp_load.rs's job.
"""
import socket
import sys
import time


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    count = int(sys.argv[2])
    template = open(sys.argv[3]).read().strip().replace("\r\n", "\r").replace("\n", "\r")
    started = time.perf_counter()
    with socket.create_connection((host, int(port))) as connection:
        # One small frame, then a wait for the answer: without this Nagle's algorithm
        # holds each frame back until the previous segment is acknowledged.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        for n in range(count):
            message = (template.replace("{control_id}", f"S{n}").replace("{mrn}", f"MS{n}")
                       .replace("{visit}", f"VS{n}"))
            connection.sendall(b"\x0b" + message.encode() + b"\x1c\x0d")
            while b"\x1c\x0d" not in buffer:
                chunk = connection.recv(65536)
                if not chunk:
                    sys.exit("the server closed the connection")
                buffer += chunk
            ack, buffer = buffer.split(b"\x1c\x0d", 1)
            if b"MSA|AA|" not in ack:
                sys.exit(f"message {n}: {ack!r}")
    seconds = time.perf_counter() - started
    print(f"{count} messages acknowledged AA in {seconds:.1f} s")


if __name__ == "__main__":
    main()
