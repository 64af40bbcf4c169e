"""An open-loop load generator for paced scenarios: request i leaves at start + i / rate, whatever the
answers before it did, and its latency runs from the moment it left until the whole response is read.

wrk's delay() cannot pace an open loop against sync workers (they close every connection, and the
latency wrk then reports includes the delay), so paced scenarios use this instead; it uses the
standard library only and, at tens of requests per second, costs the server next to nothing.
"""

from __future__ import annotations

import http.client
import math
import socket
import threading
import time
from dataclasses import dataclass, field


def percentile(samples: list[float], pct: float) -> float:
    """The nearest-rank percentile (p99 of 200 samples is the 198th smallest)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))]


def machine_probe(chunks: int = 600) -> dict:
    """How steady this machine is: the same pure computation (about 3 ms) timed `chunks` times.

    On a quiet machine its p99 stays near its median; on a shared virtual machine the host's pauses show
    up as chunks taking two to ten times as long. A scenario's p99 (one request) is exposed to the same
    pauses, so the probe is printed beside the figures to read them by."""

    def work() -> int:
        total = 0
        for i in range(50_000):
            total += i * i
        return total

    for _ in range(20):
        work()
    times = []
    for _ in range(chunks):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    median = percentile(times, 50)
    return {"p50_ms": median, "p99_ms": percentile(times, 99), "max_ms": max(times), "slow": sum(1 for t in times if t > 2 * median), "chunks": chunks}


def probe_line(probe: dict) -> str:
    return (f"machine probe (a pure computation, {probe['chunks']}×): p50 {probe['p50_ms']:.2f} ms, p99 {probe['p99_ms']:.2f} ms "
            f"({probe['p99_ms'] / probe['p50_ms']:.1f}× p50), max {probe['max_ms']:.1f} ms; {probe['slow']} of {probe['chunks']} took over twice the median")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 60) -> None:
    """Until a server accepts connections on the port (RuntimeError after timeout seconds)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no server on port {port} after {timeout:.0f} s")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass
class Outcome:
    latencies_ms: list[float]
    statuses: dict[int, int]
    socket_errors: int
    seconds: float  # from the first departure to the last answer

    @property
    def errors(self) -> int:
        return self.socket_errors + sum(n for status, n in self.statuses.items() if status >= 400)

    def percentile(self, pct: float) -> float:
        return percentile(self.latencies_ms, pct)


def paced(port: int, requests: list[Request], rate: float, threads: int = 32, timeout: float = 10.0) -> Outcome:
    """Send the requests at `rate` per second from `threads` threads; every request is sent exactly once."""
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    socket_errors = [0]
    last_done = [0.0]
    next_index = [0]
    start = time.perf_counter() + 0.05

    def worker():
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(requests):
                return
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            req = requests[i]
            sent = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                conn.request(req.method, req.path, body=req.body.encode() if req.body else None, headers=req.headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                status = response.status
            except OSError:
                with lock:
                    socket_errors[0] += 1
                continue
            done = time.perf_counter()
            with lock:
                latencies.append((done - sent) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                last_done[0] = max(last_done[0], done)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return Outcome(latencies, statuses, socket_errors[0], max(0.0, last_done[0] - start))
