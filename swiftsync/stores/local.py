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

"""
A container of the LOCAL cluster as a :class:`RemoteStore`, through Swift's
``InternalClient`` (an in-process proxy, no auth): the source of the sync
daemon.

The internal client's pipeline usually has no ``slo``/``dlo`` middleware
(like container-sync's), so this store reports an SLO's real size and etag
from its sysmeta and a DLO's from a listing of its segments, but a GET of a
large object returns its manifest: the transfer engine reads the segments
itself (:meth:`get_manifest`, :meth:`list_segments`, :meth:`sibling`).
"""

from urllib.parse import quote

from swift.common.swob import str_to_wsgi, wsgi_to_str

from swiftsync.stores.base import IterReader, close_iter
from swiftsync.stores.swift import SwiftProtocolStore


def make_internal_client(conf_path, user_agent='swiftsync', tries=1):
    from swift.common.internal_client import InternalClient
    return InternalClient(conf_path, user_agent, tries)


class LocalSwift(SwiftProtocolStore):
    """``LocalSwift(internal_client_or_conf_path, account, container)``.

    :param newest: send ``X-Newest`` on HEAD/GET (read the newest replica)
    :param headers: extra headers on every request (e.g.
                    ``X-Backend-Storage-Policy-Index``)
    """
    assembles = False
    # the in-process proxy's pools (memcache...) are eventlet's: green
    # threads only
    thread_safe = False

    def __init__(self, client, account, container, newest=True,
                 headers=None):
        super().__init__(container)
        if isinstance(client, str):
            client = make_internal_client(client)
        self.client = client
        self.account = account
        self.newest = newest
        self.headers = dict(headers or {})
        # the local pipeline may lack slo: never write SLOs through it
        self.max_parts = 1000

    def __repr__(self):
        return '<LocalSwift %s/%s>' % (self.account, self.container)

    def sibling(self, container):
        return LocalSwift(self.client, self.account, container, self.newest,
                          self.headers)

    def _request(self, method, container, obj=None, headers=None,
                 query=None, body=None, size=None):
        path = '/v1/%s/%s' % (quote(self.account.encode('utf-8')),
                              quote(container.encode('utf-8'), safe=''))
        if obj is not None:
            path += '/' + quote(obj.encode('utf-8'), safe='/')
        hdrs = dict(self.headers)
        if self.newest and method in ('GET', 'HEAD'):
            hdrs['X-Newest'] = 'true'
        hdrs.update(headers or {})
        hdrs = {k: str_to_wsgi(str(v)) for k, v in hdrs.items()}
        reader = None
        if body is not None:
            hdrs['Content-Length'] = str(size)
            reader = IterReader(body, size)
        elif method in ('PUT', 'POST'):
            hdrs['Content-Length'] = '0'
        if query:
            # swob wants WSGI strings (UTF-8 bytes as latin-1)
            query = {k: str_to_wsgi(str(v)) for k, v in query.items()}
        resp = self.client.make_request(
            method, path, hdrs, (1, 2, 3, 4, 5), body_file=reader,
            params=query)
        rheaders = {wsgi_to_str(k).lower(): wsgi_to_str(v)
                    for k, v in resp.headers.items()}
        if method == 'HEAD':
            close_iter(resp.app_iter)
            return resp.status_int, rheaders, iter(())
        return resp.status_int, rheaders, _AppIter(resp.app_iter)

    def put_large(self, *args, **kwargs):
        raise NotImplementedError('LocalSwift is a source; write large '
                                  'objects through a proxy (RemoteSwift)')


class _AppIter:
    def __init__(self, app_iter):
        self.app_iter = app_iter
        self.it = iter(app_iter)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self.it)

    def close(self):
        close_iter(self.it)
        close_iter(self.app_iter)
        # catch_errors' ByteEnforcer has no close(): when it was never
        # iterated (a PUT that failed before reading its body), the
        # proxy's iterator under it must be closed here, or it holds the
        # object server's response until client_timeout
        close_iter(getattr(self.app_iter, 'inner_iter', None))
