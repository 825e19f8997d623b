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
Read-through of archived objects (the ``shunt`` filter's second half).

For a container whose cloud-sync mapping is in ``archive`` mode (or in
``sync`` mode with ``merge = true`` / ``X-Container-Cloud-Sync-Merge:
true``), an object that is missing locally but
present in the remote store behaves like a local object:

* **GET / HEAD**: when Swift answers ``404``, the object is served from the
  remote store, streaming, with Swift's headers (``ETag``, ``Content-Type``,
  ``Content-Length``, ``Last-Modified``, ``X-Timestamp``,
  ``X-Object-Meta-*``, ``X-Static-Large-Object`` for an SLO stored as a
  multipart upload) and ``X-Cloud-Sync-Location: <target>``. ``Range``
  (one or several ranges), ``If-Match``, ``If-None-Match``,
  ``If-Modified-Since`` and ``If-Unmodified-Since`` are answered as Swift
  answers them for a local object.
* **POST** replaces the metadata of the remote copy (``202``).
* **DELETE** removes the remote copy (``204``) when the mapping propagates
  deletes; otherwise it is refused with ``409 Conflict`` and the reason.
* **Container GET**: the local listing and the remote one are merged
  (:mod:`swiftsync.listing`): each name once (the local entry wins),
  ``marker``, ``end_marker``, ``prefix``, ``delimiter``, ``path``,
  ``limit`` and ``reverse`` as Swift means them; remote-only entries carry
  ``content_location`` (the target's name) in json and xml.
* **Restore on GET** (``restore = true`` on an operator mapping, or
  ``X-Container-Cloud-Sync-Restore: true`` from the owner): a full GET also
  writes the object back into the local container while the client reads
  it; a failing local write never breaks the read, ranged and
  conditional reads do not restore.

Authorization comes first: the remote is only asked once the request's
``swift.authorize`` callback (with the container's ACLs) allows it -- for
an object, after Swift has answered the local request; for a listing, the
remote's first page is read while Swift answers the local request and used
only with a successful local answer -- so anonymous and other-account
requests get Swift's own ``401``/``403`` (or the local ``404``), never
remote data; public containers (``.r:*``) and tempurl work as for local
objects.

When the remote store fails or does not answer within ``remote_timeout``
the client gets ``503 Service Unavailable`` with the reason, never a 404
and never a hang; local objects are not affected. A request carrying
``X-Cloud-Sync-Bypass: true`` is left to Swift alone.

Filter options (in ``[filter:shunt]``)::

    # serve archived objects and splice listings (default true)
    read_through = true
    # seconds before a silent remote store gets a 503
    # (default: remote_timeout of [swiftsync] in the operator file)
    remote_timeout = 10
"""

import bisect
import collections
import dataclasses
import functools
import io
import json
import math

import eventlet
import eventlet.event
import eventlet.queue
from swift.common.http import is_success
from swift.common.request_helpers import get_param
from swift.common.swob import (
    HTTPAccepted, HTTPConflict, HTTPException, HTTPNoContent,
    HTTPServiceUnavailable, Request, Response, multi_range_iterator,
    str_to_wsgi, wsgi_quote, wsgi_to_str)
from swift.common.utils import (
    close_if_possible, config_true_value, get_logger, split_path)
from swift.common.wsgi import make_pre_authed_request
from swift.proxy.controllers.base import get_cache_key, get_container_info

from swiftsync import listing, stores
from swiftsync.middleware import optin
from swiftsync.stores.base import (
    CHUNK_SIZE, META_LARGE, META_SOURCE_ETAG, StoreError, close_iter,
    is_md5)

SWIFT_SOURCE = 'SH'
BYPASS_HEADER = 'X-Cloud-Sync-Bypass'
LOCATION_HEADER = 'X-Cloud-Sync-Location'
#: bytes handed to the WSGI server at a time when streaming a remote body
WRITE_SIZE = 256 * 1024
LISTING_TYPES = ['text/plain', 'application/json', 'application/xml',
                 'text/xml']


class RemoteUnavailable(Exception):
    """The remote store failed or timed out; ``str()`` is the reason."""


@dataclasses.dataclass
class _Active:
    """The mapping of one request's container, resolved."""
    mapping: object
    target: object
    info: dict
    account: str
    container: str


class ReadThrough(object):
    """WSGI filter serving archived objects (see the module docstring).
    The ``shunt`` filter puts it in front of the rest of the pipeline."""

    def __init__(self, app, conf, swiftsync_conf, logger=None):
        self.app = app
        self.swiftsync_conf = swiftsync_conf
        self.logger = logger or get_logger(conf, log_route='shunt')
        self.enabled = config_true_value(conf.get('read_through', 'true'))
        timeout = conf.get('remote_timeout')
        self.timeout = float(timeout) if timeout else \
            swiftsync_conf.globals.remote_timeout

    # -- dispatch ----------------------------------------------------------
    def __call__(self, env, start_response):
        if not self.enabled or config_true_value(
                env.get('HTTP_' + BYPASS_HEADER.upper().replace('-', '_'))):
            return self.app(env, start_response)
        if env.get('swiftsync.peer'):
            # an autosync peer reading through to us: answer from local
            # data only, so that clusters never ask each other in a loop
            return self.app(env, start_response)
        try:
            version, account, container, obj = split_path(
                env.get('PATH_INFO', ''), 3, 4, True)
        except ValueError:
            return self.app(env, start_response)
        method = env.get('REQUEST_METHOD')
        if obj:
            if method not in ('GET', 'HEAD', 'POST', 'DELETE'):
                return self.app(env, start_response)
        elif method != 'GET':
            return self.app(env, start_response)
        active = self._active(env, account, container)
        if active is None:
            return self.app(env, start_response)
        req = Request(env)
        try:
            if not obj:
                return self._listing(req, active, start_response)
            obj = wsgi_to_str(obj)
            if method in ('GET', 'HEAD'):
                return self._read(req, active, obj, start_response)
            return self._write(req, active, obj, start_response)
        except RemoteUnavailable as e:
            self.logger.warning('shunt: %s %s: %s', method,
                                req.path, e)
            return HTTPServiceUnavailable(
                body=('%s\n' % e).encode('utf-8'),
                content_type='text/plain', request=req)(env, start_response)

    def _active(self, env, wsgi_account, wsgi_container):
        """The archive/merge mapping of the container, or None. Cheap for
        containers without one: the container info usually is already in
        the request's info cache (Swift's, or an earlier filter's)."""
        conf = self.swiftsync_conf
        account = wsgi_to_str(wsgi_account)
        container = wsgi_to_str(wsgi_container)
        mapping = None
        for m in conf.mappings_for(account, container):
            mapping = m
            break
        info = None
        if mapping is None:
            info = (env.get('swift.infocache') or {}).get(
                get_cache_key(wsgi_account, wsgi_container))
            if info is None:
                info = get_container_info(env, self.app,
                                          swift_source=SWIFT_SOURCE)
            if not is_success(info.get('status') or 0):
                return None
            sysmeta = info.get('sysmeta') or {}
            if not sysmeta.get('cloud-sync-target'):
                return None
            values = {header: sysmeta.get(header[len(
                'X-Container-Sysmeta-'):].lower())
                for header in optin.SYSMETA.values()}
            try:
                mapping = optin.mapping_from_sysmeta(values, account,
                                                     container)
            except optin.OptInError as e:
                self.logger.warning('shunt: %s/%s: %s', account, container,
                                    e)
                return None
        if mapping is None or not (mapping.mode == 'archive' or
                                   mapping.merge):
            return None
        target = conf.targets.get(mapping.target)
        if target is None:
            self.logger.warning('shunt: %s/%s: unknown target %r', account,
                                container, mapping.target)
            return None
        return _Active(mapping, target, info, account, container)

    def _container_info(self, req, active):
        if active.info is None:
            active.info = get_container_info(req.environ, self.app,
                                             swift_source=SWIFT_SOURCE)
        return active.info

    def _authorized(self, req, active, write=False):
        """Ask Swift's authorize callback, with the container's ACL, as the
        proxy does; True when the request may proceed."""
        authorize = req.environ.get('swift.authorize')
        if authorize is None:
            return True
        info = self._container_info(req, active)
        req.acl = info.get('write_acl' if write else 'read_acl')
        return authorize(req) is None

    def _store(self, active):
        return stores.open_store(active.target, active.account,
                                 active.container, active.mapping)

    def _remote(self, name, what, fn, *args, **kwargs):
        """Call the store within the timeout; RemoteUnavailable on error."""
        try:
            with eventlet.Timeout(self.timeout):
                return fn(*args, **kwargs)
        except StopIteration:
            raise
        except eventlet.Timeout:
            raise RemoteUnavailable(
                'remote store %s did not answer %s within %gs'
                % (name, what, self.timeout)) from None
        except StoreError as e:
            raise RemoteUnavailable('remote store %s: %s failed: %s' % (
                name, what, e.message)) from None
        except Exception as e:
            raise RemoteUnavailable('remote store %s: %s failed: %s' % (
                name, what, type(e).__name__)) from None

    # -- object GET / HEAD --------------------------------------------------
    def _local(self, req):
        status, headers, body = req.call_application(self.app)
        return int(status.split(' ', 1)[0]), status, headers, body

    def _replay(self, start_response, status, headers, body):
        start_response(status, headers)
        return body

    def _read(self, req, active, obj, start_response):
        code, status, headers, body = self._local(req)
        if code == 412 and req.if_match and '*' in req.if_match:
            # If-Match: * on a missing object: is it missing locally?
            head = make_pre_authed_request(
                req.environ, 'HEAD', req.path_info, headers={
                    'X-Newest': req.headers.get('X-Newest', 'false')},
                swift_source=SWIFT_SOURCE).get_response(self.app)
            close_if_possible(head.app_iter)
            if head.status_int == 404:
                code = 404
        if code != 404:
            return self._replay(start_response, status, headers, body)
        body = [b''.join(body)]
        if not self._authorized(req, active):
            return self._replay(start_response, status, headers, body)
        store = self._store(active)
        info = self._remote(active.target.name, 'HEAD', store.head, obj)
        if info is None:
            return self._replay(start_response, status, headers, body)
        resp = self._object_response(req, active, store, obj, info)
        if active.mapping.restore and self._restorable(req):
            resp.app_iter.restore = Restore(self, req, active, store, obj,
                                            info, resp.headers)
        return resp(req.environ, start_response)

    @staticmethod
    def _restorable(req):
        """Only a plain full GET restores (no range, no condition)."""
        if req.method != 'GET' or req.range:
            return False
        return not any(h in req.headers for h in (
            'If-Match', 'If-None-Match', 'If-Modified-Since',
            'If-Unmodified-Since'))

    def _object_response(self, req, active, store, obj, info):
        internal = info.internal
        is_slo = internal.get(META_LARGE) == 'slo' or info.extra.get('slo')
        etag = info.etag
        if is_slo:
            etag = internal.get(META_SOURCE_ETAG) or etag
        headers = {
            'Content-Type': info.content_type or 'application/octet-stream',
            'X-Timestamp': '%.5f' % (info.last_modified or 0),
            'Accept-Ranges': 'bytes',
            LOCATION_HEADER: active.target.name,
        }
        for k, v in info.metadata.items():
            headers['X-Object-Meta-' + k] = v
        if is_slo:
            headers['X-Static-Large-Object'] = 'True'
            headers['ETag'] = '"%s"' % etag
        else:
            headers['ETag'] = etag
        body = RemoteBody(self, store, obj, info, active.target.name)
        resp = Response(request=req, status=200, headers=headers,
                        app_iter=body, conditional_response=True)
        resp.content_length = info.size
        resp.last_modified = math.ceil(info.last_modified or 0)
        resp._conditional_etag = etag
        return resp

    # -- object POST / DELETE ----------------------------------------------
    def _write(self, req, active, obj, start_response):
        code, status, headers, body = self._local(req)
        if code != 404:
            return self._replay(start_response, status, headers, body)
        body = [b''.join(body)]
        if not self._authorized(req, active, write=True):
            return self._replay(start_response, status, headers, body)
        store = self._store(active)
        info = self._remote(active.target.name, 'HEAD', store.head, obj)
        if info is None:
            return self._replay(start_response, status, headers, body)
        if req.method == 'DELETE':
            if not active.mapping.propagate_delete:
                return HTTPConflict(
                    body=b'The object is archived in the remote store and '
                         b'the cloud sync of this container does not '
                         b'delete remote copies\n',
                    content_type='text/plain', request=req)(
                        req.environ, start_response)
            self._remote(active.target.name, 'DELETE', store.delete, obj)
            return HTTPNoContent(request=req, headers={
                LOCATION_HEADER: active.target.name})(
                    req.environ, start_response)
        meta = {k.lower()[len('x-object-meta-'):]: v
                for k, v in req.headers.items()
                if k.lower().startswith('x-object-meta-')}
        meta = {k: v for k, v in meta.items() if v}
        meta.update(info.internal)
        content_type = req.headers.get('Content-Type') or info.content_type
        self._remote(active.target.name, 'POST', store.post, obj,
                     content_type, meta)
        return HTTPAccepted(request=req, headers={
            LOCATION_HEADER: active.target.name})(req.environ, start_response)

    # -- container GET -----------------------------------------------------
    def _listing(self, req, active, start_response):
        env = req.environ
        try:
            params = listing.ListingParams(
                prefix=get_param(req, 'prefix') or '',
                marker=get_param(req, 'marker') or '',
                end_marker=get_param(req, 'end_marker') or '',
                delimiter=get_param(req, 'delimiter') or '',
                limit=None, reverse=config_true_value(
                    get_param(req, 'reverse') or ''),
                path=get_param(req, 'path'))
            limit = get_param(req, 'limit')
            if limit:
                params.limit = int(limit)
                if not 0 <= params.limit <= listing.DEFAULT_LIMIT:
                    raise ValueError
        except (HTTPException, ValueError):
            return self.app(env, start_response)  # Swift says what's wrong
        if env.get('swift.format_listing'):
            # listing_formats already turned ?format= into Accept
            out_type = req.accept.best_match(LISTING_TYPES)
        else:
            from swift.common.middleware.listing_formats import \
                get_listing_content_type
            try:
                out_type = get_listing_content_type(req)
            except HTTPException as err:
                return err(env, start_response)
        if not out_type:
            return self.app(env, start_response)
        qs = req.params
        qs['format'] = 'json'
        first = min(params.limit, LocalListing.FIRST)
        qs['limit'] = str(first)
        req.params = qs
        store = self._store(active)
        name = active.target.name
        merged = []
        remote = local = None

        def room(last):
            # the page can take no more remote entries than what it still
            # misses once the local entries read up to the last remote one
            # are in
            if local is None:
                return params.limit
            return params.limit - len(merged) - local.buffered(last)

        # one deadline for the remote side of the page, held while the
        # local listing is read
        deadline = eventlet.Timeout(self.timeout)

        def local_read(fn, *args):
            deadline.cancel()
            try:
                return fn(*args)
            finally:
                deadline.start()
        try:
            if params.limit and self._authorized(req, active):
                # Swift allows this listing: the remote's first page is
                # read while the local one is
                remote = RemoteListing(store, params, name, room=room)
            code, status, headers, body = local_read(self._local_page, req)
            if not is_success(code):
                return self._replay(start_response, status, headers, body)
            try:
                local = _decode_listing(body[0])
            except ValueError:
                return self._replay(start_response, status, headers, body)
            local = LocalListing(local, first, params, functools.partial(
                local_read, self._local_chunk, req, qs), merged)
            if remote is None:
                remote = RemoteListing(store, params, name, room=room)
            for entry in listing.merge_listings([local, remote], params):
                merged.append(entry)
        except eventlet.Timeout as e:
            if e is not deadline:
                raise
            raise RemoteUnavailable(
                'remote store %s did not list within %gs'
                % (name, self.timeout)) from None
        except StoreError as e:
            raise RemoteUnavailable('remote store %s: LIST failed: %s' % (
                name, e.message)) from None
        except _LocalFailed as e:
            return self._replay(start_response, *e.args)
        finally:
            deadline.cancel()
            if remote is not None:
                remote.close()
        out, ctype = listing.render(merged, out_type,
                                    active.container)
        env['swift.format_listing'] = False
        drop = ('content-length', 'content-type')
        new_headers = [(k, v) for k, v in headers if k.lower() not in drop]
        new_headers += [('Content-Type', ctype),
                        ('Content-Length', str(len(out)))]
        if not out:
            status = '204 No Content'
        elif code == 204:
            status = '200 OK'
        start_response(status, new_headers)
        return [out]

    def _local_page(self, req):
        """The client's listing request, answered by Swift (whole body)."""
        code, status, headers, body = self._local(req)
        try:
            return code, status, headers, [b''.join(body)]
        finally:
            close_if_possible(body)

    def _local_chunk(self, req, qs, marker, limit):
        """The local listing's next ``limit`` entries after ``marker``."""
        qs = dict(qs, marker=str_to_wsgi(marker), limit=str(limit))
        sub = make_pre_authed_request(
            req.environ, 'GET', wsgi_quote(req.path_info),
            swift_source=SWIFT_SOURCE)
        sub.params = qs
        resp = sub.get_response(self.app)
        raw = resp.body
        if resp.status_int == 204:
            return []
        try:
            if not is_success(resp.status_int):
                raise ValueError
            return _decode_listing(raw)
        except ValueError:
            raise _LocalFailed(resp.status, resp.headerlist, [raw])


def _decode_listing(raw):
    entries = json.loads(raw) if raw else []
    if not isinstance(entries, list):
        raise ValueError
    return entries


class _LocalFailed(Exception):
    """A local listing read failed: (status, headers, body) to replay."""


class LocalListing(object):
    """The local container's listing as the merge reads it: in chunks, each
    asked for when the merge wants the entry after the last one, sized by
    the local share of the page so far (so a page of mostly remote entries
    does not read ``limit`` local ones only to drop half of them, and one of
    mostly local entries takes one more request, not ``limit / FIRST``)."""

    #: entries of the first chunk
    FIRST = 1000

    def __init__(self, first, asked, params, fetch, merged):
        self.first = first
        self.asked = asked
        self.limit = params.limit
        self.reverse = params.reverse
        self.chunk, self.pos = first, 0
        self.fetch = fetch
        self.merged = merged

    def buffered(self, key):
        """How many entries read but not yet merged sort up to ``key``."""
        if self.reverse or key is None:
            return 0
        return bisect.bisect_right(self.chunk, key, lo=self.pos,
                                   key=listing.entry_key) - self.pos

    def __iter__(self):
        chunk, asked, used = self.first, self.asked, 0
        self.first = None
        while True:
            self.chunk, self.pos = chunk, 0
            while self.pos < len(chunk):
                entry = chunk[self.pos]
                self.pos += 1
                used += 1
                yield entry
            if len(chunk) < asked:
                return
            # the merge asks for more only once it has put our last entry
            # on the page, so ``merged`` is the page so far
            done = len(self.merged)
            need = self.limit - done
            if need <= 0:
                return
            share = used / done if done else 1.0
            asked = min(need, max(self.FIRST, int(share * need * 1.1) + 1))
            marker = listing.entry_key(chunk[-1])
            chunk = self.fetch(marker, asked)
            if chunk and not (listing.entry_key(chunk[-1]) < marker
                              if self.reverse else
                              listing.entry_key(chunk[-1]) > marker):
                return  # no progress: not a listing after the marker


class RemoteListing(object):
    """The remote store's listing as Swift entries, read by a green thread
    of its own one store page ahead of the merge, so that a remote page is
    fetched and parsed while the local listing is being read.

    ``room()`` (optional) bounds the read-ahead: how many more entries the
    page may still take from the remote at most; no page is fetched once
    the entries already read fill it."""

    def __init__(self, store, params, location, room=None):
        self.location = location
        self.room = room
        limit = None if params.path is not None else params.limit
        delimiter = params.delimiter or None
        self.buf = collections.deque()
        self.pulled = 0
        self.last = None
        self.error = None
        self.done = False
        self._data = eventlet.event.Event()
        self._room = eventlet.event.Event()
        self._reader = None
        self.hungry = False
        self._it = iter(store.list(
            prefix=params.prefix, marker=params.marker,
            end_marker=params.end_marker, delimiter=delimiter,
            limit=limit, reverse=params.reverse))
        self.page = store.list_page
        self._reader = eventlet.spawn(self._read)

    def _wanted(self):
        """May the reader start on the next store page?"""
        if self.hungry:
            return True  # the merge waits for it
        if len(self.buf) >= self.page:
            return False  # a page ahead already
        if self.room is None:
            return True
        return self.room(self.last) > len(self.buf)

    def _read(self):
        try:
            while True:
                while not self._wanted():
                    self._room = eventlet.event.Event()
                    self._room.wait()
                for _ in range(self.page - self.pulled % self.page):
                    info = next(self._it)
                    entry = listing.entry_from_info(
                        info, content_location=self.location)
                    self.buf.append(entry)
                    self.pulled += 1
                    self.last = listing.entry_key(entry)
                self.hungry = False
                if not self._data.ready():
                    self._data.send()
        except StopIteration:
            pass
        except BaseException as e:  # handed to the merge's thread
            self.error = e
        self.done = True
        if not self._data.ready():
            self._data.send()

    def __iter__(self):
        return self

    def __next__(self):
        while not self.buf:
            if self.done:
                if self.error is not None:
                    raise self.error
                raise StopIteration
            self._data = eventlet.event.Event()
            self.hungry = True
            if not self._room.ready():
                self._room.send()
            try:
                self._data.wait()
            finally:
                self.hungry = False
        entry = self.buf.popleft()
        if not self._room.ready():
            self._room.send()
        return entry

    def close(self):
        if self._reader is not None:
            self._reader.kill()
        close_iter(self._it)


class RemoteBody(object):
    """A lazily opened remote object body; swob asks it for ranges."""

    def __init__(self, mw, store, name, info, location):
        self.mw = mw
        self.location = location
        #: a Restore fed with the whole body (full GETs only)
        self.restore = None
        self.store = store
        self.name = name
        self.info = info
        self._open = []

    def __iter__(self):
        if self.restore is not None:
            return self._tee(self._stream(None), self.restore)
        return self._stream(None)

    @staticmethod
    def _tee(chunks, restore):
        done = False
        try:
            for chunk in chunks:
                restore.feed(chunk)
                yield chunk
            done = True
        finally:
            if done:
                restore.finish()
            else:
                restore.abort()

    def app_iter_range(self, start, stop):
        if stop is None:
            return self._stream('bytes=%d-' % start)
        return self._stream('bytes=%d-%d' % (start, stop - 1))

    def app_iter_ranges(self, ranges, content_type, boundary, size):
        return multi_range_iterator(ranges, content_type, boundary, size,
                                    self.app_iter_range)

    def _stream(self, range_header):
        mw = self.mw
        info, status, headers, body = mw._remote(
            self.location, 'GET', self.store.get, self.name, range_header)
        self._open.append(body)
        try:
            if info.etag != self.info.etag:
                raise RemoteUnavailable(
                    'remote copy of %s changed while being read' % self.name)
            # the store's own socket timeout (the target's ``timeout``)
            # bounds a stalled body; chunks are coalesced so that the WSGI
            # server writes fewer, larger pieces
            pending, size = [], 0
            for chunk in body:
                pending.append(chunk)
                size += len(chunk)
                if size >= WRITE_SIZE:
                    yield b''.join(pending)
                    pending, size = [], 0
            if pending:
                yield b''.join(pending)
        finally:
            close_iter(body)
            if body in self._open:
                self._open.remove(body)

    def close(self):
        for body in self._open:
            close_iter(body)
        self._open = []
        if self.restore is not None:
            self.restore.abort()


class _Ended(Exception):
    """The client's read stopped before the end: no restore."""


class _Source(object):
    """Reads what the client read (chunks from a queue), ``limit`` bytes at
    a time: the ``wsgi.input`` of the local PUTs."""

    def __init__(self, queue, timeout):
        self.queue = queue
        self.timeout = timeout
        self.buf = b''
        self.eof = False
        self.left = 0

    def limited(self, n):
        self.left = n
        return self

    def read(self, size=-1):
        if self.left <= 0:
            return b''
        if size is None or size < 0:
            size = self.left
        size = min(size, self.left)
        while not self.buf and not self.eof:
            chunk = self.queue.get(timeout=self.timeout)
            if chunk is None:
                self.eof = True
            elif chunk is _Ended:
                raise _Ended()
            else:
                self.buf = chunk
        out, self.buf = self.buf[:size], self.buf[size:]
        self.left -= len(out)
        return out

    def readline(self, size=-1):
        return self.read(size)


class Restore(object):
    """Writes an object back into the local container while the client
    reads it: the object (or, for an SLO, its segments then its manifest)
    is PUT through the rest of the pipeline from a small queue fed by the
    client's read. A failing or slow local write is dropped, never the
    client's read."""

    QUEUE_CHUNKS = 8

    def __init__(self, mw, req, active, store, obj, info, headers):
        self.mw = mw
        self.env = req.environ
        self.path = wsgi_quote(req.path_info)
        self.account = active.account
        self.obj = obj
        self.size = info.size
        self.headers = {
            'Content-Type': headers.get('Content-Type'),
        }
        for k, v in headers.items():
            if k.lower().startswith('x-object-meta-'):
                self.headers[k] = v
        self.manifest = None
        self.finished = False
        if headers.get('X-Static-Large-Object'):
            get_manifest = getattr(store, 'get_manifest', None)
            try:
                self.manifest = mw._remote(
                    active.target.name, 'GET manifest', get_manifest, obj) \
                    if get_manifest else None
            except RemoteUnavailable as e:
                mw.logger.warning('shunt: restore %s: %s', self.path, e)
            if not self.manifest:
                self.failed = True
                mw.logger.warning('shunt: restore %s: no SLO manifest kept '
                                  'with the archived copy', self.path)
                return
        elif not (info.content_md5 or is_md5(info.etag)):
            self.headers['ETag'] = None
        else:
            self.headers['ETag'] = info.content_md5 or info.etag
        self.failed = False
        self.queue = eventlet.queue.Queue(self.QUEUE_CHUNKS)
        self.thread = eventlet.spawn(self._run)

    def feed(self, chunk):
        if self.failed:
            return
        try:
            self.queue.put(chunk, timeout=self.mw.timeout)
        except eventlet.queue.Full:
            self._fail('local write too slow')

    def finish(self):
        self.finished = True
        if not self.failed:
            try:
                self.queue.put(None, timeout=self.mw.timeout)
            except eventlet.queue.Full:
                self._fail('local write too slow')

    def abort(self):
        if not self.failed and not self.finished:
            self.failed = True
            try:
                self.queue.put_nowait(_Ended)
            except eventlet.queue.Full:
                self.thread.kill()

    def _fail(self, why):
        self.failed = True
        self.thread.kill()
        self.mw.logger.warning('shunt: restore %s: %s', self.path, why)

    def _put(self, path, source, size, headers, query=''):
        h = {k: v for k, v in headers.items() if v is not None}
        h['Content-Length'] = str(size)
        sub = make_pre_authed_request(
            self.env, 'PUT', path + query, headers=h,
            swift_source=SWIFT_SOURCE)
        sub.environ['wsgi.input'] = source
        resp = sub.get_response(self.mw.app)
        close_if_possible(resp.app_iter)
        if resp.status_int // 100 != 2:
            raise ValueError('local PUT %s: %s' % (path, resp.status))

    def _run(self):
        source = _Source(self.queue, self.mw.timeout)
        try:
            if self.manifest is None:
                self._put(self.path, source.limited(self.size), self.size,
                          self.headers)
            else:
                self._restore_slo(source)
            self.mw.logger.info('shunt: restored %s', self.path)
        except _Ended:
            pass  # the client stopped reading
        except Exception as e:
            self.failed = True
            self.mw.logger.warning('shunt: restore %s failed: %s',
                                   self.path, e)

    def _restore_slo(self, source):
        segments = []
        made = set()
        for seg in self.manifest:
            name = seg.get('name') or seg.get('path')
            size = int(seg.get('bytes', seg.get('size_bytes')))
            etag = seg.get('hash') or seg.get('etag')
            container = name.lstrip('/').split('/', 1)[0]
            cpath = '/v1/%s/%s' % (wsgi_quote(str_to_wsgi(self.account)),
                                   wsgi_quote(str_to_wsgi(container)))
            if container not in made:
                self._put(cpath, io.BytesIO(b''), 0, {})
                made.add(container)
            self._put('/v1/%s%s' % (wsgi_quote(str_to_wsgi(self.account)),
                                    wsgi_quote(str_to_wsgi(name))),
                      source.limited(size), size, {'ETag': etag})
            segments.append({'path': name, 'etag': etag,
                             'size_bytes': size})
        body = json.dumps(segments).encode('utf-8')
        headers = dict(self.headers)
        headers.pop('ETag', None)
        self._put(self.path, io.BytesIO(body), len(body), headers,
                  '?multipart-manifest=put')


__all__ = ['ReadThrough', 'BYPASS_HEADER', 'LOCATION_HEADER', 'CHUNK_SIZE']
