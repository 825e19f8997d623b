"""Chaos scenario 3: a peer cluster stopped during autosync container PUT,
POST and DELETE, in both consistency modes; after ``swiftsync reconcile
--once`` the namespaces of the three clusters are identical.

Three Swift clusters with the ``autosync`` filter. For each mode, c1's
``[cluster:c3]`` gets ``consistency = strict`` or ``eventual`` (c1's proxy
restarted), a client thread sends container PUTs, POSTs (metadata and ACLs)
and DELETEs through c1, and c3's proxy is stopped while it runs. What the
client was told decides what every cluster must hold in the end:

* strict: a change is either done everywhere (2xx, nothing pending) or
  ``503`` naming c3 and rolled back on c1 and c2 at once;
* eventual: every change succeeds with ``X-Swiftsync-Pending: c3`` once c3
  is down, and reaches c3 when the queue is replayed.
"""

import collections
import http.client
import json
import random
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import quote

import pytest
import swiftclient

from swiftsync import config
from swiftsync.devcluster import confs

from test.chaos.conftest import capture, chaos_deployment, scaled

CLUSTERS = ('c1', 'c2', 'c3')
RING = {'c1': 'c2', 'c2': 'c3', 'c3': 'c1'}
PER_OP = scaled(5, 50)
SWIFTSYNC = [sys.executable, '-m', 'swiftsync.cli.main']
#: figures of each consistency mode run so far
RUNS = {}


@pytest.fixture(scope='module')
def dep(tmp_path_factory):
    d = chaos_deployment(tmp_path_factory, 'peer-outage', clusters=3,
                         replicas=1, s3='none', filters='autosync')
    try:
        yield d
    finally:
        d.down()


def cl(env, name):
    return next(c for c in env['clusters'] if c['name'] == name)


class Client(object):
    """One Swift user of one cluster over plain HTTP, with a token."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.port = int(cluster['proxy_url'].rsplit(':', 1)[1])
        self.url, self.token = swiftclient.Connection(
            cluster['auth_url'], cluster['user'], cluster['key'],
            retries=0).get_auth()
        self.path = '/' + self.url.split('/', 3)[3]

    def request(self, method, container='', headers=None, query=''):
        path = self.path + ('/' + quote(container) if container else '')
        conn = http.client.HTTPConnection('127.0.0.1', self.port,
                                          timeout=60)
        try:
            conn.request(method, path + query, headers=dict(
                headers or {}, **{'X-Auth-Token': self.token}))
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, {k.lower(): v for k, v in
                                 resp.getheaders()}, body
        finally:
            conn.close()


def own_containers(client, prefix):
    """The containers cluster ``client`` holds itself, by name."""
    status, _, body = client.request(
        'GET', headers={'X-Swiftsync-Local-Only': '1'},
        query='?format=json&prefix=' + quote(prefix))
    assert status in (200, 204), (status, body)
    return sorted(c['name'] for c in json.loads(body or b'[]'))


def namespace(client, prefix):
    """{container: what autosync keeps the same on every copy}."""
    out = {}
    for name in own_containers(client, prefix):
        status, h, body = client.request('HEAD', name)
        assert status == 204 and 'x-swiftsync-forwarded-to' not in h, \
            (client.cluster['name'], name, status, h)
        out[name] = {
            'placement': h.get('x-container-placement'),
            'meta': {k: v for k, v in h.items()
                     if k.startswith('x-container-meta-')},
            'read': h.get('x-container-read', ''),
            'write': h.get('x-container-write', ''),
            'sync_to': h.get('x-container-sync-to'),
            'sync_key': h.get('x-container-sync-key'),
        }
    return out


def reconcile(env, *extra):
    out = subprocess.run(
        SWIFTSYNC + ['reconcile', cl(env, 'c1')['swiftsync_conf'], '--once',
                     '--account', 'AUTH_test'] + list(extra),
        capture_output=True, text=True, timeout=300)
    capture(out.stdout, out.stderr)
    return out


def set_mode(dep, env, mode):
    path = cl(env, 'c1')['swiftsync_conf']
    if all(c.consistency == mode for n, c in config.load(path).clusters.items()
           if n != 'c1'):
        return  # strict: the default
    for peer in ('c2', 'c3'):
        confs.set_cluster_keys(path, peer, consistency=mode)
    dep.procs.stop(['c1-proxy'])
    dep.restart('c1-proxy')


@pytest.mark.parametrize('mode', ['strict', 'eventual'])
def test_peer_outage_then_reconcile(dep, figures, mode):
    env = dep.env
    started = time.time()
    set_mode(dep, env, mode)
    clients = {n: Client(cl(env, n)) for n in CLUSTERS}
    c1 = clients['c1']
    run = 'po-%s-%s' % (mode[0], uuid.uuid4().hex[:6])
    puts = ['%s-put-%03d' % (run, i) for i in range(PER_OP)]
    posts = ['%s-post-%03d' % (run, i) for i in range(PER_OP)]
    deletes = ['%s-del-%03d' % (run, i) for i in range(PER_OP)]
    # containers to POST to and DELETE, on every cluster beforehand
    for name in posts + deletes:
        status, h, body = c1.request('PUT', name, {
            'X-Container-Meta-Mood': 'before', 'X-Container-Read': '.r:*'})
        assert status == 201 and 'x-swiftsync-pending' not in h, body

    ops = []
    for i in range(PER_OP):
        ops += [('PUT', puts[i], {'X-Container-Meta-Color': 'c%d' % i,
                                  'X-Container-Write': 'AUTH_test2'}),
                ('POST', posts[i], {'X-Container-Meta-Mood': 'after %d' % i,
                                    'X-Container-Read': '.r:*,.rlistings',
                                    'X-Container-Write': 'AUTH_test2'}),
                ('DELETE', deletes[i], {})]
    results = []
    progress = threading.Semaphore(0)

    def client_run():
        for method, name, headers in ops:
            status, h, body = c1.request(method, name, headers)
            capture(h, body)
            results.append((method, name, status, h, body))
            progress.release()
            time.sleep(0.02)

    # the client runs; c3 stops after the first third of its requests
    worker = threading.Thread(target=client_run)
    worker.start()
    for _ in range(len(ops) // 3):
        progress.acquire()
    # at a random moment of the next request: maybe while c3 is doing it
    time.sleep(random.uniform(0, 0.06))
    dep.procs.stop(['c3-proxy'])
    faults = 1
    worker.join(600)
    assert not worker.is_alive()

    # what the client saw, while c3 was (or was going) down
    counts = collections.Counter()
    done = set()  # the changes the client was told were made
    pending_seen = 0
    for method, name, status, h, body in results:
        pending = h.get('x-swiftsync-pending')
        counts['%d%s' % (status, ' pending' if pending else '')] += 1
        if mode == 'strict':
            assert status in (201, 202, 204, 503), (method, name, status,
                                                    body)
            assert not pending
            if status == 503:
                assert body.startswith(b'autosync: cluster c3 failed: ')
                assert b'rolled back' in body
                assert h['x-swiftsync-failed-cluster'] == 'c3'
            else:
                done.add(name)
        else:
            assert status in (201, 202, 204), (method, name, status, body)
            assert pending in (None, 'c3'), pending
            pending_seen += bool(pending)
            done.add(name)
    seen_down = counts['503'] if mode == 'strict' else pending_seen
    # every request sent once c3 was surely down saw it
    assert seen_down >= len(ops) - len(ops) // 3 - 2, counts

    # nothing half-done on the clusters still up, before any repair
    survivors = {n: namespace(clients[n], run) for n in ('c1', 'c2')}
    assert shared(survivors['c1']) == shared(survivors['c2'])
    check_expected(survivors['c1'], puts, posts, deletes, done)

    dep.restart('c3-proxy')
    faults_cleared = time.time()
    out = reconcile(env)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    views = {n: namespace(clients[n], run) for n in CLUSTERS}
    divergent = sorted(
        name for name in set().union(*views.values())
        if len({json.dumps(shared(views[n]).get(name), sort_keys=True)
                for n in CLUSTERS}) > 1)
    assert divergent == [], {n: {d: views[n].get(d) for d in divergent}
                             for n in CLUSTERS}
    check_expected(views['c1'], puts, posts, deletes, done)
    keys = {n: {c: v['sync_key'] for c, v in views[n].items()}
            for n in CLUSTERS}
    for name in views['c1']:
        assert views['c1'][name]['placement'] == 'c1,c2,c3'
        for n in CLUSTERS:
            assert views[n][name]['sync_to'] == \
                '//dev/%s/AUTH_test/%s' % (RING[n], name)
            assert keys[n][name] == keys['c1'][name]
    # returncode 0: nothing left pending, unreachable or not repaired
    drained = report['queue']['pending'] == 0
    RUNS[mode] = {
        'containers': 3 * PER_OP, 'operations': len(ops),
        'faults_injected': faults, 'divergent_after_reconcile': len(divergent),
        'client_status_counts': dict(sorted(counts.items())),
        'queue_replayed': report['queue']['replayed'],
        'repaired_by_compare': len(report['differences']),
        'queue_drained': drained,
        'reconcile_seconds': round(time.time() - faults_cleared, 2),
        'seconds': round(time.time() - started, 2)}
    total = {k: sum(r[k] for r in RUNS.values()) for k in (
        'containers', 'operations', 'faults_injected',
        'divergent_after_reconcile', 'queue_replayed', 'repaired_by_compare')}
    figures.record(
        'peer_outage', modes=sorted(RUNS),
        client_status_counts={m: r['client_status_counts']
                              for m, r in RUNS.items()},
        queue_drained=all(r['queue_drained'] for r in RUNS.values()),
        seconds=round(sum(r['seconds'] for r in RUNS.values()), 2),
        by_mode=RUNS, **total)


def shared(ns):
    """What must be the same on every copy: all but the Sync-To, which
    names the next cluster of the ring (checked on its own)."""
    return {name: {k: v for k, v in c.items() if k != 'sync_to'}
            for name, c in ns.items()}


def check_expected(ns, puts, posts, deletes, done):
    """The namespace holds exactly the changes the client was told were
    made, and none of the others."""
    for name in puts:
        if name in done:
            assert name in ns, name
            assert ns[name]['meta']['x-container-meta-color'] == \
                'c%d' % puts.index(name)
            assert ns[name]['write'] == 'AUTH_test2'
        else:
            assert name not in ns, name
    for name in posts:
        meta = ns[name]['meta']['x-container-meta-mood']
        if name in done:
            assert (meta, ns[name]['read'], ns[name]['write']) == (
                'after %d' % posts.index(name), '.r:*,.rlistings',
                'AUTH_test2'), name
        else:
            assert (meta, ns[name]['read'], ns[name]['write']) == (
                'before', '.r:*', ''), name
    for name in deletes:
        assert (name in ns) == (name not in done), name
