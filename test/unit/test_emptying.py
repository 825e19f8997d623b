"""PeerEmptier: which of a peer's objects a container DELETE carries the
local deletes of, and when it refuses (the local Swift is a swob app)."""

import json
import logging

from swift.common import swob
from swift.common.utils import Timestamp

from swiftsync.middleware.autosync import PeerResult
from swiftsync.middleware.emptying import PeerEmptier

T_DELETE = Timestamp(2000).internal


class LocalSwift(object):
    """HEAD answers of the local cluster: name -> 'here' | 'deleted' |
    'never' | a status."""

    def __init__(self, objects):
        self.objects = objects
        self.heads = []

    def __call__(self, env, start_response):
        name = swob.wsgi_to_str(env['PATH_INFO']).split('/', 4)[4]
        self.heads.append(name)
        state = self.objects.get(name, 'never')
        if state == 'here':
            resp = swob.HTTPOk()
        elif state == 'deleted':
            resp = swob.HTTPNotFound(headers={
                'X-Backend-Timestamp': T_DELETE})
        elif state == 'never':
            resp = swob.HTTPNotFound()
        else:
            resp = swob.Response(status=state)
        return resp(env, start_response)


class Peer(object):
    """A peer's copy: name -> data timestamp (float) of what it holds."""

    def __init__(self, objects, fail=None):
        self.objects = dict(objects)
        self.fail = fail
        self.deletes = []

    def __call__(self, cluster, method, path, headers, query):
        if self.fail == method:
            return PeerResult(cluster, error='unreachable (OSError)')
        if method == 'GET':
            names = sorted(n for n in self.objects if n > query['marker'])
            page = names[:int(query['limit'])]
            return PeerResult(cluster, 200, {}, json.dumps(
                [{'name': n} for n in page]).encode())
        name = swob.wsgi_to_str(path).split('/', 4)[4]
        self.deletes.append((name, headers['X-Timestamp']))
        if name not in self.objects:
            return PeerResult(cluster, 404, {})
        if Timestamp(self.objects[name]) >= Timestamp(headers['X-Timestamp']):
            return PeerResult(cluster, 409, {})
        del self.objects[name]
        return PeerResult(cluster, 204, {})


def empty(local, peer, limit=100, count=None):
    emptier = PeerEmptier(local, peer, limit, logging.getLogger('t'), 'AS')
    req = swob.Request.blank('/v1/a/c', method='DELETE')
    return emptier.empty(req, 'c2', '/v1/a/c',
                         len(peer.objects) if count is None else count)


def test_local_deletes_are_carried_with_the_tombstone_time():
    local = LocalSwift({'a': 'deleted', u'caf\u00e9': 'deleted'})
    peer = Peer({'a': 1000, u'caf\u00e9': 1000})
    out = empty(local, peer)
    assert out.emptied and out.carried == 2
    assert peer.objects == {}
    assert sorted(peer.deletes) == [('a', T_DELETE), (u'caf\u00e9', T_DELETE)]


def test_newer_on_the_peer_and_never_here_are_kept():
    local = LocalSwift({'old': 'deleted', 'newer': 'deleted'})
    peer = Peer({'old': 1000, 'newer': 3000, 'theirs': 1000})
    out = empty(local, peer)
    assert not out.emptied and out.carried == 1
    assert out.kept == ['newer', 'theirs']
    assert set(peer.objects) == {'newer', 'theirs'}
    # never known here: no delete was even tried
    assert sorted(n for n, _ in peer.deletes) == ['newer', 'old']
    assert 'container not empty on cluster c2: 2 objects newer' in \
        out.reason()


def test_an_object_still_here_is_left_to_the_local_delete():
    local = LocalSwift({'a': 'here'})
    peer = Peer({'a': 1000})
    out = empty(local, peer)
    assert out.emptied and out.carried == 0 and peer.deletes == []


def test_more_objects_than_the_limit_are_not_listed():
    peer = Peer({'o%d' % i: 1000 for i in range(5)})
    out = empty(LocalSwift({}), peer, limit=4)
    assert not out.emptied and out.error_status == 409
    assert 'carry_deletes_max = 4' in out.reason()
    # a stale count: the listing itself shows more than the limit
    local = LocalSwift({'o%d' % i: 'deleted' for i in range(5)})
    out = empty(local, peer, limit=4, count=2)
    assert not out.emptied and 'more than 4 objects' in out.reason()
    assert local.heads == [] and peer.deletes == []


def test_peer_and_local_failures_are_503_and_delete_nothing_more():
    out = empty(LocalSwift({'a': 'deleted'}), Peer({'a': 1000}, fail='GET'))
    assert out.error_status == 503 and 'listing failed' in out.reason()
    peer = Peer({'a': 1000}, fail='DELETE')
    out = empty(LocalSwift({'a': 'deleted'}), peer)
    assert out.error_status == 503 and "delete of 'a' failed" in out.reason()
    out = empty(LocalSwift({'a': '503 Service Unavailable'}),
                Peer({'a': 1000}))
    assert out.error_status == 503 and 'answered 503' in out.reason()
