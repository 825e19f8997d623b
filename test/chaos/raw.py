"""Raw HTTP to the dev proxies for the fuzz and security scenarios.

``http.client`` sends any path and any header bytes (python-swiftclient
would quote or refuse them); every response is counted by status and kept
with :func:`conftest.capture` for the final secret search.
"""

import collections
import hashlib
import http.client
import re
from urllib.parse import quote, urlsplit

from test.chaos.conftest import capture

#: what a Python traceback leaves in a text
TRACEBACK = re.compile(rb'Traceback \(most recent call last\)|'
                       rb'File "[^"\n]+\.py", line \d+')


class Response(object):
    def __init__(self, method, status, headers, body):
        self.method = method
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    def text(self):
        return ''.join('%s: %s\n' % kv for kv in self.headers.items()) + \
            '\n' + self.body.decode('utf-8', 'replace')

    def __repr__(self):
        return '<%d %r>' % (self.status, self.body[:300])


class Stats(object):
    """Requests sent and their statuses, for the figures."""

    def __init__(self):
        self.by_status = collections.Counter()

    @property
    def requests(self):
        return sum(self.by_status.values())

    @property
    def server_errors(self):
        return sum(n for s, n in self.by_status.items() if s >= 500)

    def figures(self):
        return {str(k): v for k, v in sorted(self.by_status.items())}


def request(url, method, path, headers=(), body=None, stats=None,
            timeout=60):
    """One request to the server of ``url`` (``http://host:port``).

    ``path`` is sent as it is (quote it yourself); ``headers`` is a dict or
    a list of (name, value), values str (latin-1) or bytes.
    """
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                      timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        items = headers.items() if isinstance(headers, dict) else headers
        for name, value in items:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader('Content-Length', str(len(body)))
        elif method in ('PUT', 'POST'):
            conn.putheader('Content-Length', '0')
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        out = Response(method, resp.status,
                       {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()
    if stats is not None:
        stats.by_status[out.status] += 1
    capture(out.text())
    return out


def assert_clean(resp, what):
    """Not a server error, no traceback; a refusal says why (but a
    response to HEAD has no body)."""
    assert resp.status < 500, '%s: %r' % (what, resp)
    assert not TRACEBACK.search(resp.body), '%s: %r' % (what, resp)
    for value in resp.headers.values():
        assert 'Traceback' not in value, '%s: %r' % (what, resp.headers)
    if 400 <= resp.status < 500 and resp.status not in (404, 405) and \
            resp.method != 'HEAD':
        assert resp.body.strip(), '%s: %d without a reason' % (
            what, resp.status)


class Clusters(object):
    """The clusters of a deployment by name, and their proxies' URLs."""

    def __init__(self, dep):
        self.dep = dep
        self.env = dep.env
        self.c = {c['name']: c for c in self.env['clusters']}
        self.url = {n: c['proxy_url'] for n, c in self.c.items()}


def auth(cluster, user=1):
    """(storage url path, token) of user 1 or 2 of an env.json cluster."""
    suffix = '' if user == 1 else str(user)
    r = request(cluster['proxy_url'], 'GET', '/auth/v1.0', {
        'X-Auth-User': cluster['user' + suffix],
        'X-Auth-Key': cluster['key' + suffix]})
    assert r.status // 100 == 2, r
    return urlsplit(r.headers['x-storage-url']).path, \
        r.headers['x-auth-token']


def opath(account, container, obj=None):
    """A quoted /v1 path (``obj`` str or bytes)."""
    p = '/v1/%s/%s' % (account, quote(container, safe=''))
    if obj is not None:
        p += '/' + quote(obj, safe='/')
    return p


def put_remote(store, name, data, content_type='text/plain', meta=None):
    """An object in the remote store only: archived, as the daemon
    leaves it."""
    return store.put(name, iter([data]), len(data), content_type,
                     dict(meta or {}), etag=hashlib.md5(data).hexdigest())
