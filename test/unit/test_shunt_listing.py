# Copyright (c) 2026 swiftsync authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
# implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""The shunt's merged listing over many local chunks and remote pages: a
stub container (answering like Swift, see test_listing's model check) and a
stub store paging like S3. The integration tests use small containers; here
every page boundary of both sides is crossed, with non-ASCII markers."""

import json
import random

import pytest
from swift.common.swob import Request, wsgi_to_str

from swiftsync import listing
from swiftsync.config import SwiftSyncConfig
from swiftsync.middleware import readthrough
from swiftsync.stores.base import ObjectInfo


class StubContainer(object):
    """A container GET answered from a sorted list of names, like Swift."""

    def __init__(self, names):
        self.entries = [listing.object_entry(n, 'L', 1, 'text/plain', 1.5)
                        for n in sorted(names)]
        self.requests = []
        self.read = 0

    def __call__(self, env, start_response):
        req = Request(env)
        assert req.params.get('format') == 'json'
        query = {k: wsgi_to_str(v) for k, v in req.params.items()}
        params = listing.ListingParams.from_query(query)
        page = listing.merge_page(
            [self.entries[::-1] if params.reverse else self.entries],
            params)
        self.requests.append(query)
        self.read += len(page)
        if not page:
            start_response('204 No Content', [('Content-Length', '0')])
            return [b'']
        body = json.dumps(page).encode('ascii')
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Content-Length', str(len(body)))])
        return [body]


class StubStore(object):
    """Lists names 1,000 a page, counting pages, like an S3 bucket."""
    kind = 's3'
    list_page = 1000

    def __init__(self, names):
        self.names = sorted(names)
        self.pages = 0

    def list(self, prefix='', marker='', end_marker='', delimiter=None,
             limit=None, reverse=False):
        lo, hi = (end_marker, marker) if reverse else (marker, end_marker)
        entries, last_sub = [], None
        for name in self.names:
            if not name.startswith(prefix) or (lo and name <= lo) or \
                    (hi and name >= hi):
                continue
            cut = name.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                # collapsed into a common prefix, as S3 does
                sub = name[:cut + len(delimiter)]
                if sub == last_sub or sub == lo:
                    continue
                last_sub = sub
                entries.append({'subdir': sub})
            else:
                entries.append(ObjectInfo(name=name, size=2, etag='R',
                                          last_modified=1.5))
        if reverse:
            entries.reverse()
        for n, entry in enumerate(entries[:limit]):
            if n % 1000 == 0:
                self.pages += 1
            yield entry


@pytest.fixture
def rng():
    return random.Random(1234)


def _names(rng, n):
    alphabet = 'ab/\u00e9\u4e2d'
    out = set()
    while len(out) < n:
        out.add(''.join(rng.choice(alphabet)
                        for _ in range(rng.randint(1, 12))))
    return sorted(out)


def _shunt(local, remote, monkeypatch):
    app = StubContainer(local)
    store = StubStore(remote)
    mw = readthrough.ReadThrough(app, {}, SwiftSyncConfig(path='-'))
    monkeypatch.setattr(mw, '_store', lambda active: store)
    active = readthrough._Active(mapping=None, target=type(
        'T', (), {'name': 's3'})(), info={}, account='AUTH_a',
        container='c')
    return mw, app, store, active


def _get(mw, active, **query):
    query.setdefault('format', 'json')
    req = Request.blank('/v1/AUTH_a/c', query_string='&'.join(
        '%s=%s' % (k, readthrough.wsgi_quote(readthrough.str_to_wsgi(
            str(v)), safe='')) for k, v in query.items()))
    got = {}

    def start_response(status, headers, exc_info=None):
        got['status'] = status
    body = b''.join(mw._listing(req, active, start_response))
    assert got['status'].startswith(('200', '204')), got['status']
    return json.loads(body) if body else []


@pytest.mark.parametrize('kw', [
    {}, {'delimiter': '/'}, {'reverse': 'on'},
    {'prefix': 'a'}, {'delimiter': '/', 'reverse': 'on'},
    {'end_marker': 'b\u4e2d'}, {'path': 'a'}])
@pytest.mark.parametrize('limit', [700, 2500])
def test_paging_over_chunks_and_pages(kw, limit, rng, monkeypatch):
    local = _names(rng, 3000)
    remote = _names(rng, 3000)  # some names in both: the local one wins
    if 'path' in kw:
        # S3 folds a key ending in the delimiter into a common prefix,
        # which a path listing drops (a known limit, doc/shunt.rst)
        remote = [n for n in remote if not n.endswith('/')]
    mw, app, store, active = _shunt(local, remote, monkeypatch)
    entries = [app.entries,
               [listing.object_entry(n, 'R', 2, None, 1.5,
                                     content_location='s3')
                for n in sorted(remote)]]
    reverse = bool(kw.get('reverse'))
    want = listing.merge_page(
        [e[::-1] if reverse else e for e in entries],
        listing.ListingParams.from_query(dict(kw, limit=10 ** 9),
                                         max_limit=10 ** 9))
    seen, marker = [], ''
    while True:
        page = _get(mw, active, limit=limit, marker=marker, **kw)
        seen += page
        if len(page) < limit:
            break
        marker = listing.entry_key(page[-1])
    assert seen == want


def test_no_page_read_for_nothing(rng, monkeypatch):
    """Interleaved halves, pages of 10,000: each side is read about as
    far as the page goes (the benchmark's shape)."""
    local = ['obj-%06d' % (2 * i) for i in range(10000)]
    remote = ['obj-%06d' % (2 * i + 1) for i in range(10000)]
    mw, app, store, active = _shunt(local, remote, monkeypatch)
    seen, marker = [], ''
    while True:
        page = _get(mw, active, limit=10000, marker=marker)
        seen += page
        if len(page) < 10000:
            break
        marker = page[-1]['name']
    assert [e['name'] for e in seen] == sorted(local + remote)
    # the 10 pages of 1,000 that hold the entries (the read-ahead may
    # start one the page turns out not to need)
    assert store.pages <= 11
    # every local entry once, plus what a chunk read past a page's end
    assert app.read <= 10000 * 1.2
    assert len(app.requests) <= 8
