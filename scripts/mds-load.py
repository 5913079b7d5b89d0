#!/usr/bin/env python3
"""Load for the metadata service benchmark: N GET (or form POST) requests per path over
loopback, C client threads, each request on a new connection (the service closes after one
reply), optionally while H idle connections are held open. Prints, per path, requests per
second and the median and p99 latency in milliseconds, as `path rps median_ms p99_ms`.

    mds-load.py HOST PORT N C H PATH [PATH...]    (a PATH starting with POST: is posted)
"""
import socket
import sys
import threading
import time


def one(host, port, path):
    method, form = "GET", ""
    if path.startswith("POST:"):
        method, path, form = "POST", path[5:], "content=benchmark"
    req = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
           f"Content-Type: application/x-www-form-urlencoded\r\n"
           f"Content-Length: {len(form)}\r\n\r\n{form}").encode()
    start = time.perf_counter()
    with socket.create_connection((host, port)) as s:
        s.sendall(req)
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    took = time.perf_counter() - start
    status = reply.split(b" ", 2)[1] if b" " in reply else b"?"
    if status != b"200":
        raise SystemExit(f"{path}: status {status!r}")
    return took


def main():
    host, port, n, c, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    for path in sys.argv[6:]:
        # Held for this path's run only: the service closes a connection idle for 10 s.
        idle = [socket.create_connection((host, port)) for _ in range(h)]
        lat = []
        lock = threading.Lock()
        per = n // c

        def worker():
            mine = [one(host, port, path) for _ in range(per)]
            with lock:
                lat.extend(mine)

        start = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(c)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        lat.sort()
        med = lat[len(lat) // 2] * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        print(f"{path} {len(lat) / wall:.0f} {med:.3f} {p99:.3f}", flush=True)
        for s in idle:
            s.close()


main()
