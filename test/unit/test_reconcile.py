"""swiftsync.daemon.reconcile with a fake local Swift and fake peers."""

import json
import logging

import pytest
from swift.common.internal_client import UnexpectedResponse
from swift.common.swob import Response

from swiftsync import config
from swiftsync.daemon import reconcile as rc
from swiftsync.middleware.autosync import PeerResult
from test.unit.test_autosync import CONF as AUTOSYNC_CONF

CONF = AUTOSYNC_CONF % {'cluster': 'cluster = c1'}


class FakeSwift(object):
    """The local cluster: queue objects and containers (name -> headers)."""

    def __init__(self, queue=(), containers=None):
        self.queue = dict(queue)
        self.containers = containers or {}
        self.requests = []

    def iter_objects(self, account, container):
        return [{'name': n} for n in sorted(self.queue)]

    def iter_containers(self, account, marker=''):
        return [{'name': n} for n in sorted(self.containers) if n > marker]

    def make_path(self, account, container=None):
        return '/v1/%s/%s' % (account, container)

    def make_request(self, method, path, headers, acceptable):
        self.requests.append((method, path, dict(headers)))
        name = path.rsplit('/', 1)[1]
        if '/queue/' in path:
            if method == 'GET':
                return Response(body=self.queue[name])
            self.queue.pop(name, None)
            return Response(status=204)
        if method == 'HEAD':
            if name not in self.containers:
                return Response(status=404)
            return Response(status=204, headers=self.containers[name])
        return Response(status=204)


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / 'swiftsync.conf'
    path.write_text(CONF)
    return config.load(str(path))


def record(cluster, method='PUT', path='/v1/AUTH_test/c'):
    return json.dumps({'cluster': cluster, 'method': method, 'path': path,
                       'headers': {}}).encode()


def test_drain_keeps_order_per_peer_and_drops_refusals(conf, monkeypatch):
    swift = FakeSwift(queue={'1': record('c2'), '2': record('c3', 'DELETE'),
                             '3': record('c2', 'POST'),
                             '4': record('c3', 'DELETE')})
    answers = {('c2', 'PUT'): None, ('c3', 'DELETE'): [409, 404]}
    sent = []

    def fake_peer(cluster, me, method, path, headers=None, **kw):
        sent.append((cluster.name, method))
        a = answers.get((cluster.name, method))
        if a is None:
            return PeerResult(cluster.name, error='unreachable')
        return PeerResult(cluster.name, a.pop(0))
    monkeypatch.setattr(rc, 'peer_request', fake_peer)
    r = rc.Reconciler(conf, logging.getLogger('t'), swift=swift,
                      accounts=['AUTH_test'])
    out = r.drain_queue()
    # c2 is down: its POST waits behind its PUT; c3's 409 is dropped
    assert sent == [('c2', 'PUT'), ('c3', 'DELETE'), ('c3', 'DELETE')]
    assert dict(out, by_cluster=None, oldest_seconds=None) == {
        'depth': 4, 'replayed': 1, 'dropped': 1, 'pending': 2,
        'by_cluster': None, 'oldest_seconds': None}
    assert sorted(swift.queue) == ['1', '3']


def test_queue_depth_by_cluster_and_age(conf, monkeypatch):
    monkeypatch.setattr(rc.time, 'time', lambda: 1763750100.0)
    names = ['1763750000.00000-c2-%s' % ('a' * 32),
             '1763750040.50000_0000000000000001-c2-%s' % ('b' * 32),
             '1763750090.00000-east-dc-%s' % ('c' * 32)]
    swift = FakeSwift(queue={n: record('c2') for n in names})
    r = rc.Reconciler(conf, logging.getLogger('t'), swift=swift,
                      accounts=['AUTH_test'], dry_run=True)
    out = r.drain_queue()
    assert out['depth'] == out['pending'] == 3
    assert out['by_cluster'] == {'c2': 2, 'east-dc': 1}
    assert out['oldest_seconds'] == 100.0
    assert rc.queue_entry('junk') == (None, '')


def test_missing_and_differing_copies_are_repaired(conf, monkeypatch):
    local = {'X-Container-Sysmeta-Swiftsync-Placement': 'c1,c2,c3',
             'X-Container-Sync-To': '//dev/c2/AUTH_test/c',
             'X-Container-Sync-Key': 'k' * 43,
             'X-Container-Meta-Tier': 'gold'}
    swift = FakeSwift(containers={'c': local})
    peers = {
        'c2': {'X-Container-Placement': 'c1,c2,c3',
               'X-Container-Sync-To': '//dev/c3/AUTH_test/c',
               'X-Container-Sync-Key': 'k' * 43,
               'X-Container-Meta-Tier': 'lead'},
        'c3': None,
    }
    writes = []

    def fake_peer(cluster, me, method, path, headers=None, query=None,
                  **kw):
        h = peers[cluster.name]
        if method == 'GET':
            body = json.dumps([{'name': 'c'}] if h and not
                              (query or {}).get('marker') else [])
            return PeerResult(cluster.name, 200, body=body.encode())
        if method == 'HEAD':
            return PeerResult(cluster.name, 204 if h else 404, h or {})
        writes.append((cluster.name, method, headers))
        return PeerResult(cluster.name, 201)
    monkeypatch.setattr(rc, 'peer_request', fake_peer)
    r = rc.Reconciler(conf, logging.getLogger('t'), swift=swift,
                      accounts=['AUTH_test'])
    report = r.run_once()
    problems = {d['cluster']: d['problem'] for d in report['differences']}
    assert problems == {'c2': 'differs: x-container-meta-tier',
                        'c3': 'missing'}
    (c2, m2, h2), (c3, m3, h3) = sorted(writes, key=lambda w: w[0])
    assert m2 == 'POST'
    assert {k.lower(): v for k, v in h2.items()} == {
        'x-container-meta-tier': 'gold'}
    assert m3 == 'PUT'
    assert h3['X-Container-Sync-To'] == '//dev/c1/AUTH_test/c'
    assert h3['X-Container-Sync-Key'] == 'k' * 43
    assert h3['X-Container-Placement'] == 'c1,c2,c3'


def test_needs_a_cluster(tmp_path):
    path = tmp_path / 'one.conf'
    path.write_text('[swiftsync]\n')
    with pytest.raises(ValueError, match='autosync needs'):
        rc.Reconciler(config.load(str(path)), logging.getLogger('t'),
                      swift=FakeSwift())


def test_missing_queue_is_empty(conf):
    class NoQueue(FakeSwift):
        def iter_objects(self, account, container):
            raise UnexpectedResponse('404', Response(status=404))
    r = rc.Reconciler(conf, logging.getLogger('t'), swift=NoQueue())
    assert r.drain_queue()['depth'] == 0


def test_local_requests_are_made_as_the_owner():
    # the proxy shows and takes ACLs and sync settings from owners only
    seen = []
    app = rc._as_owner(lambda env, start: seen.append(env['swift_owner']))
    app({}, None)
    assert seen == [True]


def test_status_shows_the_dry_run_report():
    from swiftsync.cli.status import render_autosync
    report = {'cluster': 'c1', 'unreachable': ['c2'],
              'queue': {'depth': 3, 'by_cluster': {'c3': 1, 'c2': 2},
                        'oldest_seconds': 75.0},
              'differences': [{'account': 'AUTH_test', 'container': 'p',
                               'cluster': 'c3', 'problem': 'missing',
                               'fix': None}]}
    assert render_autosync(report) == (
        'AUTOSYNC (cluster c1): queue 3 (c2: 2, c3: 1), oldest 1m15s; '
        '1 difference; unreachable: c2\n  AUTH_test/p  c3  missing')
    clean = dict(report, differences=[], unreachable=[], queue={
        'depth': 0, 'by_cluster': {}, 'oldest_seconds': None})
    assert render_autosync(clean) == \
        'AUTOSYNC (cluster c1): queue empty; no difference'
