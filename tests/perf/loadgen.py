"""A small keep-alive HTTP load generator: processes x threads, each on one connection.

    python loadgen.py HOST PORT PATH SECONDS [PROCESSES] [THREADS]

Prints the number of successful requests per second (and errors) as JSON.
"""

import http.client
import json
import multiprocessing
import sys
import threading
import time


def _worker(host, port, path, deadline, counts, index):
    done = errors = 0
    connection = http.client.HTTPConnection(host, port, timeout=10)
    while time.monotonic() < deadline:
        try:
            connection.request("GET", path, headers={"Accept-Language": "fr"})
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                done += 1
            else:
                errors += 1
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.close()
    counts[index] = (done, errors)


def _process(host, port, path, start_at, seconds, threads, queue):
    # All processes measure the same window, after they have started (spawning is not measured).
    time.sleep(max(0.0, start_at - time.time()))
    deadline = time.monotonic() + seconds
    counts = [(0, 0)] * threads
    pool = [
        threading.Thread(target=_worker, args=(host, port, path, deadline, counts, i))
        for i in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    queue.put((sum(c[0] for c in counts), sum(c[1] for c in counts)))


def run(host, port, path, seconds, processes=2, threads=4):
    queue = multiprocessing.Queue()
    start_at = time.time() + 0.5
    pool = [
        multiprocessing.Process(
            target=_process, args=(host, port, path, start_at, seconds, threads, queue)
        )
        for _ in range(processes)
    ]
    for process in pool:
        process.start()
    results = [queue.get() for _ in pool]
    for process in pool:
        process.join()
    done = sum(r[0] for r in results)
    return {
        "rps": done / seconds,
        "requests": done,
        "errors": sum(r[1] for r in results),
        "seconds": seconds,
    }


if __name__ == "__main__":
    host, port, path, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    processes = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 4
    print(json.dumps(run(host, port, path, seconds, processes, threads)))
