"""A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each
sending POSTs back to back. Prints one JSON line: requests, statuses, seconds,
latencies' p50 and p99. Used identically for the signup view and the baseline."""

import http.client
import json
import sys
import threading
import time


def main(host, port, path, total, concurrency, prefix, cookie, token):
    lock = threading.Lock()
    counter = iter(range(total))
    statuses: dict[int, int] = {}
    latencies: list[float] = []

    def worker():
        conn = http.client.HTTPConnection(host, port, timeout=30)
        local = []
        local_status: dict[int, int] = {}
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            body = (
                f"email={prefix}-{i}%40example.org&consent=on&time_zone=Europe%2FParis"
                f"&csrfmiddlewaretoken={token}"
            )
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookie}",
                "Referer": f"http://{host}:{port}/newsletter/",
                "Origin": f"http://{host}:{port}",
            }
            start = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                status = 0
            local.append(time.perf_counter() - start)
            local_status[status] = local_status.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(local)
            for key, value in local_status.items():
                statuses[key] = statuses.get(key, 0) + value

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(
        json.dumps(
            {
                "requests": len(latencies),
                "statuses": statuses,
                "seconds": elapsed,
                "rps": len(latencies) / elapsed,
                "p50_ms": pct(0.50),
                "p99_ms": pct(0.99),
            }
        )
    )


if __name__ == "__main__":
    host, port, path, total, concurrency, prefix, cookie, token = sys.argv[1:9]
    main(host, int(port), path, int(total), int(concurrency), prefix, cookie, token)
