"""Remote Swift auth (v1 and Keystone v3) and re-auth on 401, against a
tiny in-process HTTP server standing in for Keystone and a proxy."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from swiftsync.stores.base import StoreError
from swiftsync.stores.swift import RemoteSwift, SwiftAuth


class Fake(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    tokens = []          # tokens handed out
    valid = set()
    seen = []            # (method, path, token)

    def log_message(self, *a):
        pass

    def _send(self, status, headers=None, body=b''):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _new_token(self):
        tok = 'tk%d' % len(self.tokens)
        self.tokens.append(tok)
        self.valid.add(tok)
        return tok

    def do_GET(self):
        if self.path == '/auth/v1.0':
            if self.headers['X-Auth-Key'] != 'secret':
                return self._send(401)
            return self._send(200, {
                'X-Auth-Token': self._new_token(),
                'X-Storage-Url': 'http://%s:%d/v1/AUTH_u' %
                self.server.server_address})
        self._object()

    do_HEAD = do_GET

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        ident = body['auth']['identity']['password']['user']
        if self.path != '/v3/auth/tokens' or ident['password'] != 'secret':
            return self._send(401)
        assert body['auth']['scope']['project']['name'] == 'proj'
        catalog = [{'type': 'object-store', 'endpoints': [
            {'interface': 'internal', 'url': 'http://wrong/'},
            {'interface': 'public', 'url': 'http://%s:%d/v1/AUTH_proj' %
             self.server.server_address}]}]
        self._send(201, {'X-Subject-Token': self._new_token(),
                         'Content-Type': 'application/json'},
                   json.dumps({'token': {'catalog': catalog}}).encode())

    def _object(self):
        tok = self.headers.get('X-Auth-Token')
        self.seen.append((self.command, self.path, tok))
        if tok not in self.valid:
            return self._send(401)
        self._send(200, {'Content-Type': 'text/plain', 'Etag': 'e' * 32,
                         'X-Object-Meta-Color': 'blue',
                         'X-Timestamp': '1700000000.00000'}, b'abc')


@pytest.fixture
def server():
    Fake.tokens, Fake.valid, Fake.seen = [], set(), []
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Fake)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield 'http://%s:%d' % srv.server_address
    srv.shutdown()


def test_v1_auth_and_reauth_on_401(server):
    auth = SwiftAuth(server + '/auth/v1.0', 'u:u', 'secret')
    store = RemoteSwift(auth, 'c')
    info = store.head('o b')
    assert info.metadata == {'color': 'blue'}
    assert Fake.seen[-1][1] == '/v1/AUTH_u/c/o%20b'
    Fake.valid.clear()             # the token expires
    assert store.head('o b').size == 3
    assert Fake.tokens == ['tk0', 'tk1']
    assert [s[2] for s in Fake.seen] == ['tk0', 'tk0', 'tk1']


def test_v3_auth_uses_the_public_object_store(server):
    auth = SwiftAuth(server + '/v3', 'u', 'secret', auth_version=3,
                     project_name='proj')
    store = RemoteSwift(auth, 'c')
    _, status, _, body = store.get('o')
    assert status == 200 and b''.join(body) == b'abc'
    assert Fake.seen[-1][1] == '/v1/AUTH_proj/c/o'


def test_account_override(server):
    auth = SwiftAuth(server + '/auth/v1.0', 'u:u', 'secret',
                     account='AUTH_other')
    RemoteSwift(auth, 'c').head('o')
    assert Fake.seen[-1][1] == '/v1/AUTH_other/c/o'


@pytest.mark.parametrize('version,url', [(1, '/auth/v1.0'), (3, '/v3')])
def test_bad_credentials(server, version, url):
    auth = SwiftAuth(server + url, 'u:u', 'wrong-password-xyz',
                     auth_version=version, project_name='proj')
    with pytest.raises(StoreError) as e:
        RemoteSwift(auth, 'c').head('o')
    assert e.value.status == 401 and not e.value.retryable
    assert 'wrong-password-xyz' not in str(e.value)
    assert 'wrong-password-xyz' not in repr(auth)


def test_dead_endpoint_is_retryable():
    auth = SwiftAuth('http://127.0.0.1:9/auth/v1.0', 'u:u', 'k', timeout=2)
    with pytest.raises(StoreError) as e:
        RemoteSwift(auth, 'c').head('o')
    assert e.value.status is None and e.value.retryable
