"""A bounded HTTP load generator for loopback targets (no wrk needed).

``run_load(requests, threads, seconds, max_requests)`` sends the requests
round-robin from ``threads`` keep-alive connections until either bound is
reached, and returns throughput, latency percentiles and status counts (in
all and by method).
Every bound is enforced: the load always stops by itself.
"""

import collections
import http.client
import threading
import time
from urllib.parse import urlsplit


def _percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, int(round(p / 100.0 * (
        len(sorted_values) - 1))))
    return sorted_values[k]


def run_load(requests, threads=8, seconds=10.0, max_requests=100000):
    """``requests``: list of (method, url, headers) or (method, url,
    headers, body). Loopback URLs only."""
    for r in requests:
        host = urlsplit(r[1]).hostname
        if not host.startswith('127.') and host != 'localhost':
            raise ValueError('load tests target loopback only: %s' % r[1])
    lock = threading.Lock()
    statuses = collections.Counter()
    by_method = collections.defaultdict(collections.Counter)
    latencies = []
    sent = [0]
    deadline = time.time() + seconds

    def worker(offset):
        conns = {}
        i = offset
        while True:
            with lock:
                if sent[0] >= max_requests or time.time() >= deadline:
                    break
                sent[0] += 1
            method, url, headers, *body = requests[i % len(requests)]
            i += threads
            parts = urlsplit(url)
            key = parts.netloc
            conn = conns.get(key)
            if conn is None:
                conn = conns[key] = http.client.HTTPConnection(
                    parts.hostname, parts.port, timeout=30)
            path = parts.path + ('?' + parts.query if parts.query else '')
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body[0] if body else None,
                             headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.getheader('connection', '').lower() == 'close':
                    conn.close()
                    del conns[key]
            except (OSError, http.client.HTTPException) as e:
                status = 'error:%s' % type(e).__name__
                conn.close()
                conns.pop(key, None)
            elapsed = time.perf_counter() - start
            with lock:
                statuses[status] += 1
                by_method[method][str(status)] += 1
                latencies.append(elapsed)
        for conn in conns.values():
            conn.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(n,), daemon=True)
               for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(seconds + 60)
    wall = time.perf_counter() - started
    latencies.sort()
    total = sum(statuses.values())
    return {'requests': total, 'seconds': round(wall, 3),
            'rps': total / wall if wall else 0.0,
            'p50_ms': _percentile(latencies, 50) and
            _percentile(latencies, 50) * 1000,
            'p99_ms': _percentile(latencies, 99) and
            _percentile(latencies, 99) * 1000,
            'statuses': {str(k): v for k, v in statuses.items()},
            'by_method': {m: dict(c) for m, c in by_method.items()}}
