"""Pure parts of the autosync filter: placement, sync ring, undo headers."""

import pytest

from swiftsync.middleware.autosync import (
    PLACEMENT_HEADER, PLACEMENT_SYSMETA_HEADER, parse_placement,
    previous_values, restore_headers, sync_ring)

CLUSTERS = {'c1': None, 'c2': None, 'c3': None}
DEFAULT = ['c1', 'c2', 'c3']


@pytest.mark.parametrize('value,expected', [
    ('c1,c3', ['c1', 'c3']),
    ('c3, c1 ,c3', ['c1', 'c3']),
    ('c2', ['c2']),
    ('-c2', ['c1', 'c3']),
    ('c1,c2,-c2', ['c1']),
])
def test_parse_placement(value, expected):
    assert parse_placement(value, CLUSTERS, DEFAULT) == expected


@pytest.mark.parametrize('value,reason', [
    ('c1,c9', "unknown cluster 'c9' (clusters: c1, c2, c3)"),
    ('-c9', "unknown cluster 'c9'"),
    ('-c1,-c2,-c3', 'excludes every cluster'),
    ('c1,-c1', 'excludes every cluster'),
    ('', 'names no cluster'),
    (' , ,', 'names no cluster'),
])
def test_parse_placement_refuses(value, reason):
    with pytest.raises(ValueError) as e:
        parse_placement(value, CLUSTERS, DEFAULT)
    assert reason in str(e.value)


def test_unknown_cluster_name_is_cut_short():
    with pytest.raises(ValueError) as e:
        parse_placement('x' * 1000, CLUSTERS, DEFAULT)
    assert len(str(e.value)) < 200


def test_sync_ring():
    assert sync_ring(['c1']) == {}
    assert sync_ring(['c2', 'c1']) == {'c1': 'c2', 'c2': 'c1'}
    assert sync_ring(['c3', 'c1', 'c2']) == {'c1': 'c2', 'c2': 'c3',
                                             'c3': 'c1'}


INFO = {'meta': {'color': 'red'}, 'read_acl': '.r:*', 'write_acl': None,
        'sync_to': '//dev/c2/AUTH_test/x', 'sync_key': 'k' * 43,
        'sysmeta': {'swiftsync-placement': 'c1,c2'}}


def test_previous_values_set_back_what_a_post_changes():
    assert previous_values(INFO, {
        'X-Container-Meta-Color': 'blue', 'X-Remove-Container-Meta-Size': 'x',
        'X-Container-Write': 'u', 'X-Remove-Container-Read': 'x'}) == {
        'X-Container-Meta-color': 'red', 'X-Container-Meta-size': '',
        'X-Container-Write': '', 'X-Container-Read': '.r:*'}


def test_restore_headers():
    local = restore_headers(INFO)
    assert local == {'X-Container-Meta-color': 'red',
                     'X-Container-Read': '.r:*',
                     'X-Container-Sync-To': '//dev/c2/AUTH_test/x',
                     'X-Container-Sync-Key': 'k' * 43,
                     PLACEMENT_SYSMETA_HEADER: 'c1,c2'}
    peer = restore_headers(INFO, peer=True)
    assert PLACEMENT_SYSMETA_HEADER not in peer
    assert peer[PLACEMENT_HEADER] == 'c1,c2'
    assert 'X-Container-Sync-To' not in peer


# -- the filter's peer door, with a fake app behind it ----------------------

from swift.common.swob import (  # noqa: E402
    HeaderKeyDict, Request, Response, wsgi_quote)

from swiftsync import signing  # noqa: E402
from swiftsync.middleware.autosync import AutosyncMiddleware  # noqa: E402

CONF = """[swiftsync]
%(cluster)s

[cluster:c1]
proxy_url = http://127.0.0.1:1
realm = dev
secret = secret-of-c1-and-c2

[cluster:c2]
proxy_url = http://127.0.0.1:2
realm = dev
secret = secret-of-c2-itself

[cluster:c3]
proxy_url = http://127.0.0.1:3
realm = dev
secret = secret-of-c3-and-c2
"""


class FakeApp(object):
    def __init__(self):
        self.calls = []

    def __call__(self, env, start_response):
        self.calls.append((env, HeaderKeyDict(Request(env).headers)))
        return Response(status=201)(env, start_response)


@pytest.fixture
def filter_(tmp_path):
    def make(cluster='cluster = c2'):
        path = tmp_path / 'swiftsync.conf'
        path.write_text(CONF % {'cluster': cluster})
        app = FakeApp()
        return AutosyncMiddleware(app, {'swiftsync_conf': str(path)}), app
    return make


def peer_req(path='/v1/AUTH_test/cont', method='PUT', sender='c1',
             secret='secret-of-c1-and-c2', headers=None, **kw):
    h = signing.sign_headers(secret, method, path, sender, 'c2', **kw)
    h.update(headers or {})
    return Request.blank(path, method=method, headers=h)


def test_signed_peer_request_is_authorized_as_the_cluster(filter_):
    mw, app = filter_()
    req = peer_req(headers={PLACEMENT_HEADER: 'c1,c2'})
    resp = req.get_response(mw)
    assert resp.status_int == 201
    (env, headers), = app.calls
    assert env['swift.authorize'](req) is None
    assert env['swift.authorize_override'] is True
    assert env['swift_owner'] is True
    assert env['swiftsync.peer'] == 'c1'
    assert not any(k.lower().startswith('x-swiftsync-peer') for k in headers)
    assert PLACEMENT_HEADER not in headers
    assert headers[PLACEMENT_SYSMETA_HEADER] == 'c1,c2'


@pytest.mark.parametrize('change', ['forged', 'wrong-secret', 'unsigned',
                                    'self', 'expired'])
def test_bad_peer_requests_never_reach_the_app(filter_, change):
    mw, app = filter_()
    if change == 'forged':
        req = peer_req()
        req.headers[signing.SIGNATURE] = '0' * 64
    elif change == 'wrong-secret':
        req = peer_req(secret='secret-of-c3-and-c2')
    elif change == 'unsigned':
        req = Request.blank('/v1/AUTH_test/cont', method='PUT',
                            headers={signing.PEER: 'c1'})
    elif change == 'self':
        req = peer_req(sender='c2', secret='secret-of-c2-itself')
    else:
        req = peer_req(now=1000.0)
    resp = req.get_response(mw)
    assert resp.status_int == 401
    assert resp.body.startswith(b'autosync: ')
    assert app.calls == []


def test_replay_is_refused_by_the_filter(filter_):
    mw, app = filter_()
    req = peer_req()
    again = Request.blank(req.path, method='PUT', headers=dict(req.headers))
    assert req.get_response(mw).status_int == 201
    resp = again.get_response(mw)
    assert resp.status_int == 401 and b'replayed' in resp.body
    assert len(app.calls) == 1


def test_replay_is_refused_with_memcache_down(filter_):
    class Down(object):
        def incr(self, *args, **kwargs):
            raise OSError('memcached down')
    mw, app = filter_()
    req = peer_req()
    again = Request.blank(req.path, method='PUT', headers=dict(req.headers))
    for r in (req, again):
        r.environ['swift.cache'] = Down()
    assert req.get_response(mw).status_int == 201
    assert again.get_response(mw).status_int == 401
    assert len(app.calls) == 1


def test_bad_placement_from_a_peer_is_400(filter_):
    mw, app = filter_()
    resp = peer_req(headers={PLACEMENT_HEADER: 'c9'}).get_response(mw)
    assert resp.status_int == 400
    assert app.calls == []


def test_disabled_filter_still_refuses_peer_claims(filter_):
    mw, app = filter_(cluster='')
    assert not mw.enabled
    assert peer_req().get_response(mw).status_int == 401
    plain = Request.blank('/v1/AUTH_test/cont', method='PUT')
    assert plain.get_response(mw).status_int == 201
    assert len(app.calls) == 1


def test_non_namespace_paths_pass(filter_):
    mw, app = filter_()
    for path in ('/info', '/healthcheck', '/crossdomain.xml'):
        assert Request.blank(path).get_response(mw).status_int == 201
    assert len(app.calls) == 3


# -- a container PUT addressed to its account --------------------------------

def to_account_req(container, method='PUT', sender='c1',
                   secret='secret-of-c1-and-c2', signed_for=None, **kw):
    """What peer_request(to_account=True) sends: signed for the container,
    sent to its account."""
    path = '/v1/AUTH_test/' + container
    h = signing.sign_headers(secret, method, signed_for or path, sender,
                             'c2', **kw)
    h[signing.CONTAINER] = wsgi_quote(container)
    return Request.blank('/v1/AUTH_test', method=method, headers=h)


@pytest.mark.parametrize('container', ['cont', 'caf\xc3\xa9 %41 x'])
def test_container_put_to_the_account_path(filter_, container):
    mw, app = filter_()
    req = to_account_req(container)
    req.headers[PLACEMENT_HEADER] = 'c1,c2'
    assert req.get_response(mw).status_int == 201
    (env, headers), = app.calls
    assert env['PATH_INFO'] == '/v1/AUTH_test/' + container
    assert headers[PLACEMENT_SYSMETA_HEADER] == 'c1,c2'
    assert signing.CONTAINER not in headers


@pytest.mark.parametrize('case', ['other-container', 'post', 'slash',
                                  'container-path', 'forward'])
def test_bad_container_header_is_401(filter_, case):
    mw, app = filter_()
    if case == 'other-container':
        req = to_account_req('a', signed_for='/v1/AUTH_test/b')
    elif case == 'post':
        req = to_account_req('a', method='POST')
    elif case == 'slash':
        req = to_account_req('a/b')
    elif case == 'forward':
        req = to_account_req('a', flags='forward')
    else:
        req = peer_req()
        req.headers[signing.CONTAINER] = 'x'
    resp = req.get_response(mw)
    assert resp.status_int == 401, resp.body
    assert app.calls == []


def test_client_sending_the_container_header_is_401(filter_):
    mw, app = filter_()
    req = Request.blank('/v1/AUTH_test', method='PUT',
                        headers={signing.CONTAINER: 'cont'})
    assert req.get_response(mw).status_int == 401
    assert app.calls == []



def test_a_peer_refusing_the_account_form_gets_the_container_path(
        filter_, monkeypatch):
    from swiftsync.middleware import autosync
    from swiftsync.middleware.autosync import PeerResult
    mw, app = filter_()
    sent = []

    def fake(cluster, me, method, path, headers=None, query=None,
             body=None, flags='', stream=False, pool=None, to_account=False):
        sent.append(to_account)
        return PeerResult(cluster.name, 401 if to_account else 201)
    monkeypatch.setattr(autosync, 'peer_request', fake)
    r = mw.peer_request('c1', 'PUT', '/v1/AUTH_test/c', {}, to_account=True)
    assert r.status == 201
    assert sent == [True, False]


def test_read_through_sends_the_client_headers_not_the_local_ones(
        filter_, monkeypatch):
    """The local attempt adds headers of its own to the request (the
    proxy's X-Timestamp, X-Backend-*): the peer gets the client's."""
    from swiftsync.middleware import autosync
    from swiftsync.middleware.autosync import PeerResult
    mw, app = filter_()

    def local_404(env, start_response):
        env['HTTP_X_TIMESTAMP'] = '1795000000.00000'
        env['HTTP_X_BACKEND_STORAGE_POLICY_INDEX'] = '0'
        return Response(status=404)(env, start_response)
    mw.app = local_404
    sent = []

    def fake(cluster, me, method, path, headers=None, query=None,
             body=None, flags='', stream=False, pool=None, to_account=False):
        sent.append((cluster.name, headers))
        return PeerResult(cluster.name, error='unreachable (test)')
    monkeypatch.setattr(autosync, 'peer_request', fake)
    req = Request.blank('/v1/AUTH_test/c/o', headers={
        'Range': 'bytes=0-1', 'X-Auth-Token': 'AUTH_tk'})
    assert mw.read_through(req, ['c1', 'c2', 'c3']).status_int == 404
    assert sent == [('c1', {'Range': 'bytes=0-1'}),
                    ('c3', {'Range': 'bytes=0-1'})]
