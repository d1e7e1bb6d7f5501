#!/usr/bin/env python3
"""HTTP probes for the lab: N fresh TCP connections to HOST:PORT, one GET each.

Prints one JSON object: sent, answered, failed and how many answers each backend gave
(the lab's HTTP servers answer with their host name). Runs inside the client namespace.
"""
import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor


def probe(host, port, timeout):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        s.sendall(b"GET / HTTP/1.0\r\nHost: lab\r\nConnection: close\r\n\r\n")
        data = b""
        while len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        body = data.split(b"\r\n\r\n", 1)[-1].decode("ascii", "replace").strip()
        return body or "?"
    except OSError:
        return None
    finally:
        s.close()


def main():
    host = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 80
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 1.5
    parallel = int(sys.argv[5]) if len(sys.argv) > 5 else 8
    backends = {}
    answered = 0
    # A few at a time, so unanswered probes (which wait for the timeout) overlap.
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        results = list(pool.map(lambda _: probe(host, port, timeout), range(count)))
    for who in results:
        if who is not None:
            answered += 1
            backends[who] = backends.get(who, 0) + 1
    shown = f"[{host}]" if ":" in host else host
    print(json.dumps({"target": f"{shown}:{port}", "sent": count, "answered": answered,
                      "failed": count - answered, "backends": backends}))


if __name__ == "__main__":
    main()
