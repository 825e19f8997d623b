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
Swift containers as :class:`RemoteStore`: :class:`SwiftProtocolStore` speaks
the Swift API (shared with the local cluster's store in ``local.py``);
:class:`RemoteSwift` sends it over HTTP to another cluster, authenticating
with tempauth/swauth (v1) or Keystone v3 and authenticating again on 401.

HTTP goes through :mod:`swiftsync.stores.http` (plain ``http.client``,
green under eventlet's monkey patching); bodies stream both ways in
:data:`CHUNK_SIZE` chunks.

Large objects are written as SLOs: segments first, in
``<container>_segments`` named ``<object>/slo/<timestamp>/<size>/<part
size>/<number>``, the manifest last.
"""

import datetime
import email.utils
import hashlib
import http.client
import json
import time
from urllib.parse import quote, unquote, urlsplit

from swiftsync.stores.base import (
    GiB, META_LARGE, META_MD5, HashingIter, NotFound, ObjectInfo,
    PreconditionFailed, RemoteStore, SourceChanged, StoreError, ahead,
    close_iter, is_md5, md5_tee, parallel_map, split_metadata, unquote_etag,
    written_info)
from swiftsync.stores.http import (
    Pools, http_request, read_all as _read_all)

META_PREFIX = 'x-object-meta-'
#: rows per listing request: the next page is asked for while the caller
#: goes through one (see list), and a caller that waits for a whole page
#: (``swiftsync mirror``, before it lists the other side's range) waits
#: less for the last one
LISTING_PAGE = 5000


def _true(value):
    return str(value).lower() in ('true', '1', 'yes', 'on', 't', 'y')


def swift_info(name, headers, internal_hidden=True):
    """ObjectInfo from Swift object headers (native strings, lower-case
    names). Understands the sysmeta a proxy without the slo middleware
    shows (the local internal client)."""
    meta = {k[len(META_PREFIX):]: v for k, v in headers.items()
            if k.startswith(META_PREFIX)}
    user, internal = split_metadata(meta)
    slo = _true(headers.get('x-static-large-object', ''))
    dlo = headers.get('x-object-manifest')
    raw_etag = unquote_etag(headers.get('etag'))
    etag = raw_etag
    size = int(headers.get('content-length') or 0)
    if 'content-range' in headers:
        total = headers['content-range'].rpartition('/')[2]
        if total.isdigit():
            size = int(total)
    extra = {'internal': internal}
    if slo:
        extra['slo'] = True
        extra['manifest_etag'] = headers.get('x-manifest-etag', raw_etag)
        if 'x-object-sysmeta-slo-etag' in headers:
            etag = headers['x-object-sysmeta-slo-etag']
            size = int(headers.get('x-object-sysmeta-slo-size') or size)
            extra['raw'] = True  # a GET returns the manifest, not content
    if dlo:
        extra['dlo'] = dlo
    if 'x-timestamp' in headers:
        extra['x_timestamp'] = headers['x-timestamp']
        last_modified = float(headers['x-timestamp'])
    elif headers.get('last-modified'):
        last_modified = email.utils.parsedate_to_datetime(
            headers['last-modified']).timestamp()
    else:
        last_modified = 0.0
    is_large = slo or bool(dlo)
    return ObjectInfo(
        name=name, size=size, etag=etag, last_modified=last_modified,
        content_type=headers.get('content-type', ''), metadata=user,
        content_md5=internal.get(META_MD5) if is_large else (
            etag if is_md5(etag) else None),
        is_large=is_large, extra=extra)


def listing_info(row):
    """ObjectInfo from one JSON container-listing row."""
    ct = row.get('content_type', '')
    extra = {'listing': True}
    is_large = False
    if ';swift_bytes=' in ct:
        ct, _, nbytes = ct.partition(';swift_bytes=')
        extra['swift_bytes'] = int(nbytes)
    etag = row.get('hash', '')
    if row.get('slo_etag'):
        is_large = True
        extra['manifest_etag'] = etag
        etag = unquote_etag(row['slo_etag'])
    ts = 0.0
    if row.get('last_modified'):
        try:
            ts = datetime.datetime.fromisoformat(
                row['last_modified']).replace(
                    tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            pass
    return ObjectInfo(name=row['name'], size=row.get('bytes', 0), etag=etag,
                      last_modified=ts, content_type=ct, is_large=is_large,
                      content_md5=None if is_large else (
                          etag if is_md5(etag) else None),
                      extra=extra)


def _status_error(status, what, body=b''):
    msg = '%s: %s' % (what, http.client.responses.get(status, status))
    if body:
        text = body[:200].decode('utf-8', 'replace').strip()
        if text and '<html' not in text.lower():
            msg += ' (%s)' % text.replace('\n', ' ')
    if status == 404:
        return NotFound(msg)
    if status == 412:
        return PreconditionFailed(msg)
    if status == 422:
        return SourceChanged(msg)
    return StoreError(msg, status)


class SwiftProtocolStore(RemoteStore):
    """The Swift API on top of :meth:`_request`. Subclasses provide the
    transport; ``self.container`` is the container this store is bound to.
    """
    kind = 'swift'
    min_part_size = 1
    max_part_size = 5 * GiB
    max_parts = 1000   # Swift's default max_manifest_segments
    #: False when the pipeline has no slo/dlo middleware (local store)
    assembles = True
    #: segments of one large object sent at once
    part_concurrency = 4
    #: seconds: what this store writes expires (X-Delete-After), segments
    #: included; a POST sets it again, as a metadata write of its own
    delete_after = None

    def __init__(self, container):
        self.container = container
        self.segments_container = container + '_segments'
        self._ensured = set()

    # transport: (method, container, obj, headers(native), query dict,
    #             body iterator, size) -> (status, headers, body_iter)
    def _request(self, method, container, obj=None, headers=None,
                 query=None, body=None, size=None):
        raise NotImplementedError

    def sibling(self, container):
        """The same kind of store, bound to another container of the same
        account (segments)."""
        raise NotImplementedError

    def _simple(self, method, container, obj=None, headers=None, query=None,
                ok=(2,), body=None, size=None):
        status, rheaders, rbody = self._request(
            method, container, obj, headers, query, body, size)
        if status // 100 in ok or status in ok:
            data = _read_all(rbody)
            return status, rheaders, data
        data = _read_all(rbody)
        what = '%s %s/%s' % (method, container, obj or '')
        raise _status_error(status, what, data)

    def ensure_container(self, container):
        if container in self._ensured:
            return
        status, _, body = self._request('HEAD', container)
        close_iter(body)
        if status == 404:
            self._simple('PUT', container)
        elif status // 100 != 2:
            raise _status_error(status, 'HEAD %s' % container)
        self._ensured.add(container)

    def head(self, name):
        status, headers, body = self._request(
            'HEAD', self.container, name)
        close_iter(body)
        if status == 404:
            return None
        if status // 100 != 2:
            raise _status_error(status, 'HEAD %s' % name)
        info = swift_info(name, headers)
        if info.extra.get('dlo') and not self.assembles:
            self._resolve_dlo(info)
        return info

    def _resolve_dlo(self, info):
        """Size and etag of a DLO from its segments (no dlo middleware)."""
        segs = self.list_segments(info.extra['dlo'])
        info.size = sum(s.size for s in segs)
        info.etag = hashlib.md5(''.join(
            s.etag for s in segs).encode('ascii')).hexdigest()
        info.extra['segments'] = len(segs)

    def get(self, name, range_header=None, if_headers=None, container=None):
        headers = dict(if_headers or {})
        if range_header:
            headers['Range'] = range_header
        container = container or self.container
        status, rheaders, body = self._request('GET', container, name,
                                               headers)
        if status in (200, 206, 304):
            info = swift_info(name, rheaders)
            if info.extra.get('dlo') and not self.assembles:
                self._resolve_dlo(info)
            return info, status, rheaders, body
        data = _read_all(body)
        raise _status_error(status, 'GET %s/%s' % (container, name), data)

    def _expiry_headers(self):
        if self.delete_after:
            return {'X-Delete-After': str(int(self.delete_after))}
        return {}

    def _meta_headers(self, content_type, metadata):
        headers = {'Content-Type': content_type or 'application/octet-stream'}
        for k, v in metadata.items():
            headers[META_PREFIX + k] = v
        headers.update(self._expiry_headers())
        return headers

    def put(self, name, body_iter, size, content_type, metadata, etag=None):
        self.ensure_container(self.container)
        headers = self._meta_headers(content_type, metadata)
        if etag and is_md5(etag):
            headers['Etag'] = etag
        body = HashingIter(body_iter, size, 'PUT %s' % name, expected=etag)
        try:
            _, rheaders, _ = self._simple('PUT', self.container, name,
                                          headers, body=body, size=size)
        finally:
            body.close()
        got = unquote_etag(rheaders.get('etag'))
        if got != body.hexdigest():
            raise StoreError('PUT %s: stored etag %s is not the md5 sent'
                             % (name, got), None, True)
        return written_info(name, size, got, content_type, metadata, got)

    def segment_prefix(self, name, size, part_size, kind='slo'):
        return '%s/%s/%.5f/%d/%d/' % (name, kind, time.time(), size,
                                      part_size)

    def put_large(self, name, parts, size, content_type, metadata,
                  manifest=None, concurrency=None, dlo=False):
        """Segments, then an SLO manifest (or, with ``dlo``, a DLO
        manifest: ``X-Object-Manifest`` naming the segments' prefix).
        Segments go ``concurrency`` at a time (default
        ``part_concurrency``); the whole-content md5 is recorded only when
        they go one at a time (it needs the bytes in order)."""
        seg_container = self.segments_container
        self.ensure_container(self.container)
        self.ensure_container(seg_container)
        parts = list(parts)   # PartData are cheap: bodies open lazily
        if concurrency is None:
            concurrency = self.part_concurrency
        total = hashlib.md5() if concurrency <= 1 or len(parts) <= 1 \
            else None
        prefix = self.segment_prefix(
            name, size, parts[0].size, 'dlo' if dlo else 'slo') \
            if parts else None
        written = []   # every segment stored, for the clean-up on failure

        def upload(part):
            seg = '%s%08d' % (prefix, part.number)
            chunks = md5_tee(part.chunks, total) if total else part.chunks
            body = HashingIter(chunks, part.size,
                               '%s segment %d' % (name, part.number),
                               expected=part.md5)
            headers = {'Content-Type': 'application/swiftsync-segment'}
            headers.update(self._expiry_headers())
            if part.md5:
                headers['Etag'] = part.md5
            try:
                _, rh, _ = self._simple('PUT', seg_container, seg, headers,
                                        body=body, size=part.size)
            finally:
                body.close()
            md5 = body.hexdigest()
            written.append((seg, md5, part.size))
            if part.md5 and md5 != part.md5:
                raise SourceChanged('%s segment %d: md5 %s, expected %s'
                                    % (name, part.number, md5, part.md5))
            if unquote_etag(rh.get('etag')) != md5:
                raise StoreError('%s segment %d: stored etag is not the '
                                 'md5 sent' % (name, part.number),
                                 None, True)
            return seg, md5, part.size

        try:
            done = parallel_map(upload, parts, concurrency)
            nbytes = sum(n for _, _, n in done)
            if nbytes != size:
                raise SourceChanged('%s: read %d bytes of %d'
                                    % (name, nbytes, size))
            meta = dict(metadata)
            if total is not None:
                meta.setdefault(META_MD5, total.hexdigest())
            meta.setdefault(META_LARGE, 'slo')
            headers = self._meta_headers(content_type, meta)
            if dlo:
                headers['X-Object-Manifest'] = '%s/%s' % (
                    quote(seg_container.encode('utf-8'), safe=''),
                    quote((prefix or name + '/dlo/').encode('utf-8')))
                self._simple('PUT', self.container, name, headers,
                             body=iter([b'']), size=0)
                rh = {'etag': hashlib.md5(''.join(
                    md5 for _, md5, _ in done).encode()).hexdigest()}
            else:
                slo = [{'path': '/%s/%s' % (seg_container, seg),
                        'etag': md5, 'size_bytes': n}
                       for seg, md5, n in done]
                data = json.dumps(slo).encode('utf-8')
                _, rh, _ = self._simple(
                    'PUT', self.container, name, headers,
                    query={'multipart-manifest': 'put'}, body=iter([data]),
                    size=len(data))
        except BaseException:
            for seg, _, _ in written:
                try:
                    self._request_drain('DELETE', seg_container, seg)
                except Exception:
                    pass
            raise
        return written_info(name, size, unquote_etag(rh.get('etag')),
                            content_type, meta,
                            total.hexdigest() if total else None,
                            is_large=True, segments=len(done),
                            **({'dlo': headers['X-Object-Manifest']} if dlo
                               else {'slo': True}))

    def _request_drain(self, method, container, obj=None, headers=None,
                       query=None):
        status, rheaders, body = self._request(method, container, obj,
                                               headers, query)
        _read_all(body)
        return status, rheaders

    def post(self, name, content_type, metadata):
        headers = self._meta_headers(content_type, metadata)
        self._simple('POST', self.container, name, headers)

    def delete(self, name):
        info = self.head(name)
        if info is None:
            return False
        query = None
        if info.extra.get('slo') and self.assembles:
            query = {'multipart-manifest': 'delete'}
        status, _ = self._request_drain('DELETE', self.container, name,
                                        query=query)
        if status == 404:
            return False
        if status // 100 != 2:
            raise _status_error(status, 'DELETE %s' % name)
        for path in self.own_dlo_segments(info):
            container, _, obj = path.partition('/')
            self.sibling(container).delete(obj)
        return True

    def own_dlo_segments(self, info):
        """'container/object' of the segments of a DLO swiftsync wrote
        (in this store's segments container), to delete with it."""
        dlo = info.extra.get('dlo')
        if not dlo or not info.internal.get(META_LARGE):
            return []
        container = unquote(dlo.partition('/')[0])
        if container != self.segments_container:
            return []
        return ['%s/%s' % (container, s.name)
                for s in self.list_segments(dlo)]

    def get_manifest(self, name, if_match=None):
        """(ObjectInfo, the stored SLO manifest: a list of dicts with
        name, hash, bytes and maybe range/sub_slo); None if not an SLO."""
        headers = {'If-Match': if_match} if if_match else {}
        status, rheaders, body = self._request(
            'GET', self.container, name, headers,
            {'multipart-manifest': 'get'})
        data = _read_all(body)
        if status // 100 != 2:
            raise _status_error(status, 'GET %s manifest' % name, data)
        info = swift_info(name, rheaders)
        if not info.extra.get('slo'):
            return info, None
        return info, json.loads(data)

    def list_segments(self, dlo_prefix):
        """ObjectInfo of the segments of a DLO (``container/prefix``)."""
        container, _, prefix = dlo_prefix.partition('/')
        container, prefix = unquote(container), unquote(prefix)
        return list(self.sibling(container).list(prefix=prefix))

    def list(self, prefix='', marker='', end_marker='', delimiter=None,
             limit=None, reverse=False):
        def page_after(marker, n):
            query = {'format': 'json', 'prefix': prefix}
            if marker:
                query['marker'] = marker
            if end_marker:
                query['end_marker'] = end_marker
            if delimiter:
                query['delimiter'] = delimiter
            if reverse:
                query['reverse'] = 'true'
            page = LISTING_PAGE if limit is None else min(LISTING_PAGE,
                                                          limit - n)
            query['limit'] = str(page)
            status, _, data = self._simple('GET', self.container, None,
                                           query=query, ok=(2,))
            return page, json.loads(data) if status != 204 and data else []

        n = 0
        next_page = None
        while True:
            page, rows = next_page() if next_page else page_after(marker, n)
            more = len(rows) >= page and (limit is None or
                                          n + len(rows) < limit)
            if more:
                # the next page is asked for now, while the caller works
                # through this one: a 10,000-row page takes the server
                # about as long to list as the caller to go through
                last = rows[-1]
                next_page = ahead(page_after, last.get('subdir') or
                                  last['name'], n + len(rows))
            for row in rows:
                if 'subdir' in row:
                    yield {'subdir': row['subdir']}
                else:
                    yield listing_info(row)
                n += 1
                if limit is not None and n >= limit:
                    return
            if not more:
                return


# --- auth ------------------------------------------------------------------

class SwiftAuth:
    """A token and storage URL for one remote Swift user, shared by every
    store of one target; authenticates again when told to."""

    def __init__(self, auth_url, user, key, auth_version=1,
                 project_name=None, project_domain_name='Default',
                 user_domain_name='Default', storage_url=None, account=None,
                 timeout=10.0, verify=True, max_connections=32,
                 region_name=None, application_credential=None):
        self.auth_url = auth_url
        self.region_name = region_name
        #: (id, secret) of a Keystone application credential, used
        #: instead of user and key
        self._app_cred = application_credential
        self.user = user
        self._key = key
        self.auth_version = int(auth_version)
        self.project_name = project_name
        self.project_domain_name = project_domain_name
        self.user_domain_name = user_domain_name
        self.storage_url_override = storage_url
        self.account = account
        self.timeout = timeout
        self.verify = verify
        self.max_connections = max_connections
        self.token = None
        self.storage_url = None
        self.pools = Pools(timeout, max_connections, verify)

    def __repr__(self):
        return '<SwiftAuth %s as %s>' % (
            self.auth_url, self.user or 'application credential %s' % (
                self._app_cred[0] if self._app_cred else None))

    def pool(self, url):
        return self.pools.get(url)

    def invalidate(self):
        self.token = None

    def get(self):
        """(storage_url, token), authenticating when needed."""
        if self.token is None:
            if self.auth_version == 3:
                self._auth_v3()
            else:
                self._auth_v1()
            if self.storage_url_override:
                self.storage_url = self.storage_url_override
            if self.account:
                base = self.storage_url.rstrip('/').rpartition('/')[0]
                self.storage_url = '%s/%s' % (base, quote(self.account))
        return self.storage_url, self.token

    def _call(self, method, url, headers, body=None):
        parts = urlsplit(url)
        path = parts.path + ('?' + parts.query if parts.query else '')
        try:
            status, rheaders, rbody = http_request(
                self.pool(url), method, path, headers,
                None if body is None else iter([body]),
                None if body is None else len(body))
        except StoreError as e:
            raise StoreError('auth %s: %s' % (self.auth_url, e.message),
                             None, True) from None
        return status, rheaders, _read_all(rbody)

    def _auth_v1(self):
        status, headers, _ = self._call('GET', self.auth_url, {
            'X-Auth-User': self.user, 'X-Auth-Key': self._key})
        if status // 100 != 2:
            raise StoreError('auth %s as %s failed' % (
                self.auth_url, self.user), status,
                retryable=status >= 500)
        self.token = headers.get('x-auth-token') or headers.get(
            'x-storage-token')
        self.storage_url = headers.get('x-storage-url')
        if not self.token or not self.storage_url:
            raise StoreError('auth %s: no token or storage URL' %
                             self.auth_url, status, False)

    def _auth_v3(self):
        if self._app_cred:
            # scoped to its own project: no scope may be asked
            body = {'auth': {'identity': {
                'methods': ['application_credential'],
                'application_credential': {
                    'id': self._app_cred[0],
                    'secret': self._app_cred[1]}}}}
        else:
            body = {'auth': {'identity': {
                'methods': ['password'], 'password': {'user': {
                    'name': self.user, 'password': self._key,
                    'domain': {'name': self.user_domain_name}}}}}}
        if self.project_name and not self._app_cred:
            body['auth']['scope'] = {'project': {
                'name': self.project_name,
                'domain': {'name': self.project_domain_name}}}
        url = self.auth_url.rstrip('/')
        if not url.endswith('/auth/tokens'):
            url += '/auth/tokens'
        status, headers, data = self._call(
            'POST', url, {'Content-Type': 'application/json'},
            json.dumps(body).encode('utf-8'))
        if status // 100 != 2:
            raise StoreError('auth %s as %r failed' % (
                self.auth_url, self), status,
                retryable=status >= 500)
        self.token = headers.get('x-subject-token')
        catalog = json.loads(data).get('token', {}).get('catalog', [])
        self.storage_url = object_store_url(catalog, self.region_name)
        if not self.storage_url and not self.storage_url_override:
            raise StoreError('auth %s: no object-store endpoint%s in the '
                             'catalog' % (self.auth_url, (
                                 ' of region %r' % self.region_name)
                                 if self.region_name else ''),
                             status, False)

    def close(self):
        self.pools.close()


def object_store_url(catalog, region=None):
    """The public URL of the ``object-store`` service of a Keystone v3
    catalog: the first one, or the one of ``region``."""
    for service in catalog:
        if service.get('type') != 'object-store':
            continue
        for ep in service.get('endpoints', []):
            if ep.get('interface') != 'public':
                continue
            if region and region not in (ep.get('region_id'),
                                         ep.get('region')):
                continue
            return ep['url']
    return None


class RemoteSwift(SwiftProtocolStore):
    """A container of a remote Swift account, over HTTP."""

    def __init__(self, auth, container):
        super().__init__(container)
        self.auth = auth

    def __repr__(self):
        return '<RemoteSwift %s/%s>' % (self.auth.storage_url or
                                        self.auth.auth_url, self.container)

    def sibling(self, container):
        return RemoteSwift(self.auth, container)

    def _request(self, method, container, obj=None, headers=None,
                 query=None, body=None, size=None):
        for attempt in (0, 1):
            url, token = self.auth.get()
            parts = urlsplit(url)
            path = parts.path.rstrip('/') + '/' + quote(
                container.encode('utf-8'), safe='')
            if obj is not None:
                path += '/' + quote(obj.encode('utf-8'), safe='/')
            if query:
                path += '?' + '&'.join('%s=%s' % (quote(k), quote(
                    str(v).encode('utf-8'), safe='')) for k, v in
                    query.items())
            hdrs = dict(headers or {})
            hdrs['X-Auth-Token'] = token
            status, rheaders, rbody = http_request(
                self.auth.pool(url), method, path, hdrs, body, size)
            if status == 401:
                _read_all(rbody)
                self.auth.invalidate()
                if body is None and attempt == 0:
                    continue
                raise StoreError('%s %s/%s: unauthorized' % (
                    method, container, obj or ''), 401, True)
            return status, rheaders, rbody

    def close(self):
        pass
