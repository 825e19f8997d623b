"""What every benchmark shares: a dev deployment, timing, RSS, the JSON line.

Each ``bench/<name>.py`` brings up what it needs through ``swiftsync dev``,
runs ours and the peer in the same run, and prints one JSON object as its
last line::

    {"name": ..., "ours": ..., "peer": ..., "unit": ..., "ratio": ...,
     "target": ...}

``ratio > 1`` means ours is better (for a "lower is better" unit it is
peer/ours). ``--quick`` makes a short run. Deployments use base port 10600
unless ``--base-port`` says otherwise, so a benchmark can run beside the
demo (8600) and the tests (9600).
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from swiftsync.devcluster import Deployment  # noqa: E402


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--quick', action='store_true', help='a short run')
    p.add_argument('--base-port', type=int, default=10600)
    p.add_argument('--workdir', default=None,
                   help='default: a fresh temporary directory')
    return p


@contextlib.contextmanager
def deployment(args, **up_kwargs):
    workdir = args.workdir or tempfile.mkdtemp(prefix='swiftsync-bench-')
    dep = Deployment(workdir)
    up_kwargs.setdefault('base_port', args.base_port)
    dep.up(**up_kwargs)
    try:
        yield dep
    finally:
        dep.down()


def timed(fn, *a, **kw):
    start = time.perf_counter()
    value = fn(*a, **kw)
    return time.perf_counter() - start, value


def median(values):
    return statistics.median(values)


def _status_mib(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024.0
    return None


def peak_rss_mib(pid):
    """Peak resident set size of a live process (VmHWM), in MiB."""
    return _status_mib(pid, 'VmHWM')


def rss_mib(pid):
    """Resident set size of a live process, in MiB."""
    return _status_mib(pid, 'VmRSS')


def report(name, ours, peer, unit, target, higher_is_better=True, **extra):
    """Print the result line and return it."""
    if peer:
        ratio = ours / peer if higher_is_better else peer / ours
    else:
        ratio = None
    result = {'name': name, 'ours': round(ours, 4),
              'peer': None if peer is None else round(peer, 4),
              'unit': unit, 'ratio': None if ratio is None else
              round(ratio, 3), 'target': target}
    result.update(extra)
    print(json.dumps(result, sort_keys=False))
    return result


def parallel(fn, items, threads=16):
    """Run ``fn(item)`` for every item on a thread pool; raise the first
    error."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(fn, items):
            pass


def run_measured(cmd, env=None, timeout=3600):
    """Run ``cmd``; return (seconds, peak RSS of that program in MiB,
    returncode, stdout, stderr).

    The peak is the child's own VmHWM, polled from /proc until it exits:
    wait4's ru_maxrss would also count the pages the child had from this
    process before exec.
    """
    import subprocess
    import threading
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    out, err, peak = [], [], [0.0]
    with open('/proc/self/cmdline', 'rb') as f:
        forked_copy = f.read()

    def poll():
        while proc.poll() is None:
            try:
                # only once exec has replaced the forked copy of us
                with open('/proc/%d/cmdline' % proc.pid, 'rb') as f:
                    execed = f.read() != forked_copy
                if execed:
                    peak[0] = max(peak[0], _status_mib(proc.pid, 'VmHWM')
                                  or 0)
            except OSError:
                pass
            time.sleep(0.02)

    threads = [threading.Thread(target=lambda s, b: b.append(s.read()),
                                args=(proc.stdout, out)),
               threading.Thread(target=lambda s, b: b.append(s.read()),
                                args=(proc.stderr, err)),
               threading.Thread(target=poll)]
    for t in threads:
        t.start()
    proc.wait(timeout)
    seconds = time.perf_counter() - start
    for t in threads:
        t.join(timeout)
    return (seconds, peak[0], proc.returncode,
            b''.join(out).decode('utf-8', 'replace'),
            b''.join(err).decode('utf-8', 'replace'))
