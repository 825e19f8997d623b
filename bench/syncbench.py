"""What the sync benchmarks share: filling a container, running the daemon
once, counting what arrived."""

import concurrent.futures
import os
import subprocess
import sys
import time

import swiftclient

from swiftsync.devcluster.derive import derive_conf as derived_conf  # noqa

SWIFTSYNC = os.path.join(os.path.dirname(sys.executable), 'swiftsync')


def connection(cluster):
    return swiftclient.Connection(cluster['auth_url'], cluster['user'],
                                  cluster['key'], retries=3)


def fill(cluster, container, count, size=4096, prefix='obj-', threads=16,
         headers=None):
    """PUT ``count`` objects of ``size`` bytes, ``threads`` at a time."""
    connection(cluster).put_container(container, headers=headers or {})
    body = b'x' * size
    local = {}

    def put(i):
        import threading
        conn = local.setdefault(threading.get_ident(), connection(cluster))
        conn.put_object(container, '%s%06d' % (prefix, i), body)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(put, range(count)))
    return time.perf_counter() - start


def sync_once(conf, timeout=1800):
    """Wall time of ``swiftsync sync CONF --once`` (process start
    included, as for the peers)."""
    start = time.perf_counter()
    out = subprocess.run([SWIFTSYNC, 'sync', conf, '--once'],
                         capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    if out.returncode:
        raise RuntimeError('swiftsync sync failed: %s' % out.stderr[-1000:])
    return seconds


def s3_count(client, bucket, prefix):
    n = 0
    for page in client.get_paginator('list_objects_v2').paginate(
            Bucket=bucket, Prefix=prefix):
        n += len(page.get('Contents', []))
    return n


def swift_count(cluster, container):
    try:
        return int(connection(cluster).head_container(container)[
            'x-container-object-count'])
    except swiftclient.ClientException:
        return 0
