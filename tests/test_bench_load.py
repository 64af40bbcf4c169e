"""The paced load generator the check-in benchmark relies on: every request once, on schedule, counted."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import load
from bench.load import machine_probe, probe_line


class _Handler(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - the stdlib's name
        self.seen.append(self.path)
        self.send_response(500 if self.path == "/bad" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_paced_sends_each_request_once_on_schedule_and_counts_errors():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        requests = [load.Request("GET", f"/r{i}") for i in range(19)] + [load.Request("GET", "/bad")]
        outcome = load.paced(server.server_address[1], requests, rate=100, threads=4)
    finally:
        server.shutdown()
    assert sorted(_Handler.seen) == sorted(r.path for r in requests)
    assert outcome.statuses == {200: 19, 500: 1}
    assert outcome.errors == 1 and outcome.socket_errors == 0
    assert len(outcome.latencies_ms) == 20
    # The last request may not leave before 19 / 100 s after the first.
    assert outcome.seconds >= 0.19
    assert outcome.percentile(50) <= outcome.percentile(99) <= max(outcome.latencies_ms)


def test_a_refused_connection_is_a_socket_error_not_a_latency():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    outcome = load.paced(port, [load.Request("GET", "/")] * 3, rate=1000, threads=2, timeout=1)
    assert outcome.socket_errors == 3 and outcome.errors == 3 and outcome.latencies_ms == []


def test_machine_probe_orders_its_figures():
    probe = machine_probe(chunks=30)
    assert 0 < probe["p50_ms"] <= probe["p99_ms"] <= probe["max_ms"]
    assert 0 <= probe["slow"] <= 30 and probe["chunks"] == 30
    assert "30×" in probe_line(probe) and "of 30 took over twice the median" in probe_line(probe)
