"""The benchmarks' load generator: keep-alive HTTP/1.1 connections in several
processes (Python clients are GIL-bound), each with a few threads, hammering one
path for a number of seconds or a number of requests. Every benchmark uses it
for its baseline and its subject alike.

    python loadgen.py --port 8000 --path /x [--seconds 3 | --requests 600]
                      [--processes 2] [--threads 4]
                      [--form 'email=u-{n}%40example.org&consent=on'] [--header 'K: V' ...]

With --form it POSTs that urlencoded body, `{n}` replaced by a number unique
across the whole run; a `{n}` in --path is replaced by digits unique across the run (a
GET with an address of its own on every request). Prints one JSON line: requests,
statuses, errors, seconds, rps (2xx/3xx responses per second), p50_ms, p99_ms, and
page_cache: the responses counted by their X-Page-Cache header (hit, miss, none).
"""

import argparse
import http.client
import json
import multiprocessing
import threading
import time


def _thread(args, slot, deadline, quota, sink):
    connection = http.client.HTTPConnection(args.host, args.port, timeout=30)
    headers = dict(h.split(": ", 1) for h in args.header)
    headers.setdefault("Accept-Language", "fr")
    method, body = ("POST", None) if args.form else ("GET", None)
    if args.form:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    statuses, latencies, errors, sent, cache = {}, [], 0, 0, {"hit": 0, "miss": 0, "none": 0}
    unique_path = "{n}" in args.path
    while (quota is None or sent < quota) and (deadline is None or time.monotonic() < deadline):
        if args.form:
            body = args.form.replace("{n}", f"{slot}x{sent}")
        sent += 1
        started = time.perf_counter()
        try:
            path = args.path.replace("{n}", f"{slot:02d}{sent}") if unique_path else args.path
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(args.host, args.port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        state = response.getheader("X-Page-Cache")
        cache[state if state in ("hit", "miss") else "none"] += 1
        if (response.getheader("Connection") or "").lower() == "close":
            connection.close()
    connection.close()
    sink.append((statuses, latencies, errors, cache))


def _process(args, index, start_at, queue):
    # Every process measures the same window, once all have started.
    time.sleep(max(0.0, start_at - time.time()))
    deadline = time.monotonic() + args.seconds if args.seconds else None
    workers = args.processes * args.threads
    sink, threads = [], []
    for t in range(args.threads):
        slot = index * args.threads + t
        quota = None
        if args.requests:
            quota = args.requests // workers + (1 if slot < args.requests % workers else 0)
        threads.append(threading.Thread(target=_thread, args=(args, slot, deadline, quota, sink)))
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((sink, time.perf_counter() - began))


def run(args) -> dict:
    queue = multiprocessing.Queue()
    start_at = time.time() + 0.5
    processes = [
        multiprocessing.Process(target=_process, args=(args, i, start_at, queue))
        for i in range(args.processes)
    ]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    statuses, latencies, errors, cache = {}, [], 0, {"hit": 0, "miss": 0, "none": 0}
    for sink, _elapsed in results:
        for part_statuses, part_latencies, part_errors, part_cache in sink:
            for state, count in part_cache.items():
                cache[state] += count
            for status, count in part_statuses.items():
                statuses[status] = statuses.get(status, 0) + count
            latencies.extend(part_latencies)
            errors += part_errors
    seconds = max(elapsed for _sink, elapsed in results)
    latencies.sort()

    def percentile(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    ok = sum(count for status, count in statuses.items() if 200 <= status < 400)
    return {
        "requests": len(latencies),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors,
        "seconds": round(seconds, 3),
        "rps": round(ok / seconds, 1) if seconds else 0.0,
        "p50_ms": percentile(0.50) if latencies else None,
        "p99_ms": percentile(0.99) if latencies else None,
        "page_cache": cache,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    bound = parser.add_mutually_exclusive_group(required=True)
    bound.add_argument("--seconds", type=float)
    bound.add_argument("--requests", type=int)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--form", help="POST this urlencoded body; {n} is unique per request")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    print(json.dumps(run(parser.parse_args())))


if __name__ == "__main__":
    main()
