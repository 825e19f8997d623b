"""Scenario 6: load.

Bounded concurrent clients (``bench/load.py``: keep-alive connections,
round-robin over a fixed request mix) send PUT, GET, HEAD and listings to
c1's proxy, which runs every swiftsync filter, while the ``swiftsync sync``
daemon runs on c1's container node and Swift's container-sync on both
clusters. The containers:

* ``plain``: unmapped, mirrored to c2 by autosync (the default placement);
* ``local``: unmapped, placed on c1 only;
* ``peer``: placed on c2 only, so c1's autosync forwards every request;
* ``synced``: cloud sync to SeaweedFS in sync mode (the daemon copies what
  the clients PUT);
* ``archive``: cloud sync in archive mode, ``after = 0``: its objects were
  archived by the daemon before the load and are read through the shunt.

No server is stopped, so no 5xx (nor any other error) may appear, with
one exception that is Swift's own: when the saturated proxy waits more than
``pool_timeout`` (1 s) for one of its ``memcache_max_connections`` (2)
connections, tempauth cannot read the token and answers ``401``; each such
401 must have its "Timeout getting a connection to memcached ... AUTH_/token"
line in the proxy's log. The
proxy's resident memory is sampled every second; after a warm-up it must
stay flat. At the end every object the clients PUT into ``synced`` is on
SeaweedFS with the right ETag.
"""

import collections
import hashlib
import importlib.util
import os
import sys
import threading
import time
import uuid
from urllib.parse import quote

import pytest

from swiftsync import config, stores

from test.chaos.conftest import capture, chaos_deployment, scaled
from test.integration.clients import swift

MiB = 1024 * 1024
SECONDS = scaled(20, 120)
CLIENTS = scaled(8, 24)
WARMUP_SECONDS = scaled(5, 15)
#: allowed growth of the proxy's RSS after the warm-up
RSS_GROWTH_MAX_MIB = 20
#: objects per container (each PUT name is rewritten again and again)
OBJECTS = scaled(8, 16)
ARCHIVED = scaled(8, 16)
#: archived objects big enough that the proxy's memory would show it if a
#: read-through held them instead of streaming
BIG_ARCHIVED, BIG_SIZE = 2, scaled(4, 16) * MiB

_spec = importlib.util.spec_from_file_location('bench_load', os.path.join(
    os.path.dirname(__file__), '..', '..', 'bench', 'load.py'))
bench_load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_load)


def body(container_kind, i):
    """A distinct body per object, 1 KiB to 64 KiB."""
    seed = hashlib.sha256(('%s-%d' % (container_kind, i)).encode()).digest()
    return seed * ((1024 << (i % 7)) // len(seed))


@pytest.fixture(scope='module')
def dep(tmp_path_factory):
    d = chaos_deployment(tmp_path_factory, 'load', clusters=2, replicas=1,
                         s3='seaweedfs')
    try:
        yield d
    finally:
        d.down()


def rss_mib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    raise AssertionError('no VmRSS for %d' % pid)


class RssSampler(threading.Thread):
    """VmRSS of one process, once a second."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            self.samples.append((time.time(), rss_mib(self.pid)))
            self.stopped.wait(1.0)

    def stop(self):
        self.stopped.set()
        self.join(5)
        self.samples.append((time.time(), rss_mib(self.pid)))


def test_load(dep, figures):
    started = time.time()
    env = dep.env
    c1 = env['clusters'][0]
    conn = swift(c1, 1)
    url, token = conn.get_auth()
    tag = uuid.uuid4().hex[:6]
    names = {k: '%s-%s' % (k, tag) for k in (
        'plain', 'local', 'peer', 'synced', 'archive')}
    conn.put_container(names['plain'])
    conn.put_container(names['local'], headers={
        'X-Container-Placement': 'c1'})
    conn.put_container(names['peer'], headers={
        'X-Container-Placement': 'c2'})
    conn.put_container(names['synced'], headers={
        'X-Container-Placement': 'c1',
        'X-Container-Cloud-Sync-Target': 's3',
        'X-Container-Cloud-Sync-Mode': 'sync'})
    conn.put_container(names['archive'], headers={
        'X-Container-Placement': 'c1',
        'X-Container-Cloud-Sync-Target': 's3',
        'X-Container-Cloud-Sync-Mode': 'archive',
        'X-Container-Cloud-Sync-After': '0'})
    for kind in ('plain', 'local', 'peer', 'synced'):
        for i in range(OBJECTS):
            conn.put_object(names[kind], 'get-%d' % i, body(kind, i))
    for i in range(ARCHIVED):
        conn.put_object(names['archive'], 'arch/%d \u00e9' % i,
                        body('archive', i),
                        headers={'X-Object-Meta-Index': str(i)})
    for i in range(BIG_ARCHIVED):
        conn.put_object(names['archive'], 'big/%d' % i,
                        body('big', i) * (BIG_SIZE // len(body('big', i))))

    # the daemons
    exe = os.path.join(os.path.dirname(sys.executable), 'swiftsync')
    for node in c1['nodes']:
        dep.procs.start('c1-swiftsync-sync%d' % node['index'],
                        [exe, 'sync', node['swiftsync_conf']])
    dep.start_swift_daemon('container-sync')
    deadline = time.time() + 60
    while int(conn.head_container(names['archive'])[
            'x-container-object-count']):
        assert time.time() < deadline, 'the daemon did not archive'
        time.sleep(0.5)

    # the request mix
    h = {'X-Auth-Token': token}

    def at(path):
        return '%s/%s' % (url, quote(path))

    reqs = []
    for i in range(OBJECTS):
        for kind in ('plain', 'local', 'peer', 'synced'):
            c = names[kind]
            reqs.append(('PUT', at('%s/put-%d' % (c, i)), h, body(kind, i)))
            reqs.append(('GET', at('%s/get-%d' % (c, i)), h))
            reqs.append(('HEAD', at('%s/get-%d' % (c, i)), h))
        a = at('%s/arch/%d \u00e9' % (names['archive'], i % ARCHIVED))
        reqs.append(('GET', a, h))
        reqs.append(('HEAD', a, h))
        if i < BIG_ARCHIVED:
            reqs.append(('GET', at('%s/big/%d' % (names['archive'], i)), h))
        if i % 2 == 0:
            for kind in names:
                reqs.append(('GET', at(names[kind]) + '?format=json', h))
            reqs.append(('GET', url + '?format=json', h))
            reqs.append(('HEAD', at(names['synced']), h))

    pid = dep.procs.procs['c1-proxy']['pid']
    log_path = dep.procs.log_path('c1-proxy')
    log_offset = os.path.getsize(log_path)
    sampler = RssSampler(pid)
    sampler.start()
    warm = bench_load.run_load(reqs, threads=CLIENTS,
                               seconds=WARMUP_SECONDS)
    rss_start = rss_mib(pid)
    t_load = time.time()
    result = bench_load.run_load(reqs, threads=CLIENTS, seconds=SECONDS,
                                 max_requests=10 ** 7)
    sampler.stop()
    capture(result)
    rss_after = [r for t, r in sampler.samples if t >= t_load]
    rss_end, rss_max = rss_after[-1], max(rss_after)

    by_status = dict(result['statuses'])
    for s, n in warm['statuses'].items():
        by_status['warmup-' + s] = n
    errors = collections.Counter()
    for s, n in list(result['statuses'].items()) + \
            list(warm['statuses'].items()):
        if not s.startswith('2'):
            errors[s] += n
    # 401s explained by Swift's memcache pool running dry (see above)
    with open(log_path, 'rb') as f:
        f.seek(log_offset)
        token_lookups_failed = sum(
            1 for line in f if b'key_prefix AUTH_/token, method get: No '
            b'more memcached servers' in line)
    unauthorized = errors.pop('401', 0)
    explained = min(unauthorized, token_lookups_failed)
    errors['401'] = unauthorized - explained
    errors = {s: n for s, n in errors.items() if n}

    # the sync daemon kept up: every object PUT into ``synced`` is on
    # SeaweedFS with the right ETag (it keeps syncing after the load)
    store = stores.open_store(
        config.load(c1['swiftsync_conf']).target('s3'), c1['account'],
        names['synced'])
    wanted = {'put-%d' % i: hashlib.md5(body('synced', i)).hexdigest()
              for i in range(OBJECTS)}
    wanted.update({'get-%d' % i: hashlib.md5(body('synced', i)).hexdigest()
                   for i in range(OBJECTS)})
    deadline = time.time() + 60
    while True:
        remote = {info.name: info.etag for info in store.list()}
        synced = sum(1 for n, e in wanted.items() if remote.get(n) == e)
        if synced == len(wanted) or time.time() > deadline:
            break
        time.sleep(0.5)
    store.close()

    figures.record(
        'load', clients=CLIENTS, seconds=result['seconds'],
        warmup_seconds=WARMUP_SECONDS, requests=result['requests'],
        requests_per_second=round(result['rps'], 1),
        p50_ms=round(result['p50_ms'], 1), p99_ms=round(result['p99_ms'], 1),
        by_status=by_status, by_method=result['by_method'],
        errors=errors, token_lookups_failed=token_lookups_failed,
        unauthorized_by_memcache_pool=explained,
        proxy_rss_start_mib=round(rss_start, 1),
        proxy_rss_end_mib=round(rss_end, 1),
        proxy_rss_max_mib=round(rss_max, 1),
        synced_objects=synced, objects_lost=len(wanted) - synced,
        total_seconds=round(time.time() - started, 1))

    assert errors == {}, result
    assert result['requests'] > 0
    assert rss_max - rss_start <= RSS_GROWTH_MAX_MIB, sampler.samples
    assert synced == len(wanted), sorted(
        n for n, e in wanted.items() if remote.get(n) != e)
