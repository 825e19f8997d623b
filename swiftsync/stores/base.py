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
The remote-store interface: one response shape for every store.

A :class:`RemoteStore` is bound to one place (an S3 bucket and key prefix, a
container of a remote Swift account, a container of the local cluster) and
addresses objects by their *Swift object name* relative to that place; where
the object really lives (the S3 key) is in ``info.extra['key']``.

Everything streams: bodies go in and come out as iterators of ``bytes``
chunks (:data:`CHUNK_SIZE`), never as whole objects.

User metadata whose name starts with ``swiftsync-`` is reserved: the stores
keep it apart (``info.extra['internal']``) so that it never shows up in
``info.metadata`` and never counts in a comparison.
"""

import hashlib
import re
import sys
import threading
from dataclasses import dataclass, field

CHUNK_SIZE = 64 * 1024
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: reserved user-metadata prefix for what swiftsync records itself
INTERNAL_PREFIX = 'swiftsync-'
#: whole-content md5 recorded at upload (large objects, SSE-KMS)
META_MD5 = INTERNAL_PREFIX + 'md5'
#: the source's etag at the time of the copy (large objects)
META_SOURCE_ETAG = INTERNAL_PREFIX + 'source-etag'
#: the kind of source large object: slo, dlo or mpu
META_LARGE = INTERNAL_PREFIX + 'large'

EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e'


@dataclass
class ObjectInfo:
    """What a store knows about one object (from a HEAD, GET or listing).

    ``name`` is the object name as the store is addressed (the Swift object
    name); ``extra['key']`` is the full S3 key on S3 stores. A listing entry
    has ``extra['listing'] = True`` and may lack content-type and metadata.
    """
    name: str
    size: int
    etag: str
    last_modified: float = 0.0
    content_type: str = ''
    metadata: dict = field(default_factory=dict)
    content_md5: str | None = None
    is_large: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def internal(self):
        """Reserved ``swiftsync-*`` metadata recorded by swiftsync."""
        return self.extra.setdefault('internal', {})


class StoreError(Exception):
    """A store request failed. ``str()`` never contains a secret.

    :ivar status: the HTTP status, or None (connection error, timeout)
    :ivar retryable: trying again later may work (5xx, 429/503 throttling,
                     timeouts, a source that changed while being read)
    """

    def __init__(self, message, status=None, retryable=None):
        super().__init__(message)
        self.message = message
        self.status = status
        if retryable is None:
            retryable = status is None or status >= 500 or status in (
                401, 408, 409, 429)
        self.retryable = retryable

    def __str__(self):
        if self.status:
            return '%s (%s)' % (self.message, self.status)
        return self.message


class NotFound(StoreError):
    def __init__(self, message, status=404):
        super().__init__(message, status, retryable=False)


class SourceChanged(StoreError):
    """The source changed while it was being copied; nothing mixed was
    stored, the copy can be tried again from a fresh HEAD."""

    def __init__(self, message, status=None):
        super().__init__(message, status, retryable=True)


class PreconditionFailed(SourceChanged):
    """An If-Match (or similar) did not hold: the object changed."""

    def __init__(self, message, status=412):
        super().__init__(message, status)


def split_metadata(meta):
    """(user metadata, internal metadata) from lower-cased names."""
    user, internal = {}, {}
    for k, v in meta.items():
        k = k.lower()
        (internal if k.startswith(INTERNAL_PREFIX) else user)[k] = v
    return user, internal


def written_info(name, size, etag, content_type, metadata, content_md5,
                 is_large=False, **extra):
    """The ObjectInfo of an object a store has just written."""
    user, extra['internal'] = split_metadata(metadata)
    return ObjectInfo(name=name, size=size, etag=etag,
                      content_type=content_type, metadata=user,
                      content_md5=content_md5, is_large=is_large,
                      extra=extra)


class RemoteStore:
    """One interface for S3, a remote Swift and the local Swift.

    ``kind`` is ``'s3'`` or ``'swift'``; Swift-like stores also implement
    :meth:`get_manifest`, :meth:`list_segments` and :meth:`sibling`.
    """
    kind = None
    #: the largest part/segment the store accepts
    max_part_size = 5 * GiB
    #: the smallest non-last part (S3: 5 MiB; Swift: 1 byte)
    min_part_size = 1
    max_parts = 10000
    #: False when the store must not be used from several OS threads at
    #: once (the local internal client: eventlet pools inside); green
    #: threads are always fine
    thread_safe = True
    #: longest object name this store can hold under its layout
    max_name_length = 1024
    #: the most entries one listing request returns (Swift's container
    #: listing limit); a reader ahead of a merge fetches this many at once
    list_page = 10000

    def name_fits(self, name):
        """Whether this store can hold an object of that name."""
        return len(name.encode('utf-8')) <= self.max_name_length

    def head(self, name):
        """:returns: ObjectInfo, or None when there is no such object"""
        raise NotImplementedError

    def get(self, name, range_header=None, if_headers=None):
        """:returns: (ObjectInfo, status, headers, body_iter); the body must
        be consumed or closed (``close()`` on the iterator).
        :raises NotFound: no object
        :raises PreconditionFailed: an ``If-*`` header did not hold
        """
        raise NotImplementedError

    def put(self, name, body_iter, size, content_type, metadata, etag=None):
        """Store ``size`` bytes from ``body_iter``; with ``etag`` (the hex
        md5 of the content) the store refuses other content.
        ``metadata`` may include reserved ``swiftsync-*`` names.
        :returns: ObjectInfo of the new object
        """
        raise NotImplementedError

    def put_large(self, name, parts, size, content_type, metadata,
                  manifest=None, concurrency=None):
        """Store a large object from ``parts``, an iterable of
        :class:`PartData` (S3: one multipart part each; Swift: one segment
        each, then the SLO manifest). ``metadata`` is final except that
        ``META_MD5`` is added when the whole-content md5 is known only at
        the end (Swift). ``manifest`` (the source SLO manifest, a list) is
        kept beside the object on S3 so it can be restored as an SLO.
        ``concurrency`` caps the parts sent at once (None: the store's own
        setting).
        :raises SourceChanged: a part did not match its expected md5
        :returns: ObjectInfo
        """
        raise NotImplementedError

    def post(self, name, content_type, metadata):
        """Replace content-type and user metadata, keeping the content."""
        raise NotImplementedError

    def delete(self, name):
        """:returns: True if something was deleted, False if it was not
        there. Large objects go with their segments/manifest copies."""
        raise NotImplementedError

    def list(self, prefix='', marker='', end_marker='', delimiter=None,
             limit=None, reverse=False):
        """Iterate ObjectInfo (``extra['listing']``) and ``{'subdir': ...}``
        in name order (reverse order with ``reverse``)."""
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class PartData:
    """One part of a large upload: ``size`` bytes from ``chunks``.
    ``md5`` is the expected hex md5 when known (a segment's etag)."""
    number: int
    size: int
    chunks: object
    md5: str | None = None


class HashingIter:
    """Wrap a chunk iterator: count bytes and md5 them as they pass, and
    stop with SourceChanged if the total is not ``size``.

    With ``expected`` (an md5 the receiving store verifies itself, sent as
    Content-MD5 or Etag) nothing is hashed here: :meth:`hexdigest` gives
    ``expected``, which the store has checked."""

    def __init__(self, chunks, size=None, what='object', expected=None):
        self._chunks = iter(chunks)
        self.size = size
        self.what = what
        self.expected = expected if is_md5(expected) else None
        self.md5 = None if self.expected else hashlib.md5()
        self.bytes = 0

    def __iter__(self):
        return self

    def __next__(self):
        try:
            chunk = next(self._chunks)
        except StopIteration:
            if self.size is not None and self.bytes != self.size:
                raise SourceChanged('%s: read %d bytes of %d' % (
                    self.what, self.bytes, self.size)) from None
            raise
        if chunk:
            self.bytes += len(chunk)
            if self.size is not None and self.bytes > self.size:
                raise SourceChanged('%s: more than %d bytes' % (
                    self.what, self.size))
            if self.md5 is not None:
                self.md5.update(chunk)
        return chunk

    def hexdigest(self):
        return self.expected or self.md5.hexdigest()

    def close(self):
        close_iter(self._chunks)


class IterReader:
    """A file-like ``read(n)`` over a chunk iterator (for botocore and
    swob bodies), holding at most one chunk."""

    def __init__(self, chunks, size=None):
        self._it = iter(chunks)
        self._buf = b''
        self._pos = 0
        self._len = size

    def __len__(self):
        return self._len

    def read(self, n=-1):
        if n is None or n < 0:
            out = [self._buf[self._pos:]]
            self._buf, self._pos = b'', 0
            out.extend(self._it)
            return b''.join(out)
        while self._pos >= len(self._buf):   # skips empty chunks
            try:
                self._buf, self._pos = next(self._it), 0
            except StopIteration:
                self._buf, self._pos = b'', 0
                return b''
            if 0 < len(self._buf) <= n:
                out, self._buf = self._buf, b''
                return out
        out = self._buf[self._pos:self._pos + n]
        self._pos += len(out)
        return out

    def close(self):
        close_iter(self._it)


def is_green():
    """True under eventlet's monkey patching (the daemon, the proxy).

    Monkey patching imports eventlet first: where it is not imported
    (``swiftsync mirror``), it is not imported here either (importing it
    here, on a worker thread, hung a mirror run)."""
    patcher = sys.modules.get('eventlet.patcher')
    return patcher is not None and patcher.is_monkey_patched('socket')


def parallel_map(fn, items, concurrency):
    """``map(fn, items)`` in order, ``concurrency`` at a time: green threads
    under eventlet's monkey patching, OS threads otherwise. The first
    exception is raised once the calls in flight have ended."""
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [fn(i) for i in items]
    if is_green():
        import eventlet
        pool = eventlet.GreenPool(concurrency)
        threads = [pool.spawn(_capture, fn, i) for i in items]
        results = [t.wait() for t in threads]
    else:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(concurrency) as ex:
            results = list(ex.map(lambda i: _capture(fn, i), items))
    for ok, value in results:
        if not ok:
            raise value
    return [value for _, value in results]


def ahead(fn, *args):
    """Start ``fn(*args)`` on a thread of its own (a green thread under
    eventlet's monkey patching); returns a function that waits for its
    result and returns it (or raises what it raised). A caller that no
    longer wants the result just drops the function."""
    done = threading.Event()
    box = []

    def run():
        box.append(_capture(lambda a: fn(*a), args))
        done.set()
    threading.Thread(target=run, name='ahead', daemon=True).start()

    def result():
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value
    return result


def _capture(fn, item):
    try:
        return True, fn(item)
    except BaseException as e:  # re-raised by parallel_map
        return False, e


def close_iter(it):
    close = getattr(it, 'close', None)
    if close:
        try:
            close()
        except Exception:
            pass


def md5_tee(chunks, md5):
    """The chunks, each also fed to ``md5`` (a whole-object digest)."""
    try:
        for chunk in chunks:
            md5.update(chunk)
            yield chunk
    finally:
        close_iter(chunks)


def iter_filelike(f, chunk_size=CHUNK_SIZE):
    """Chunks from a file-like object, closing it at the end."""
    try:
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                break
            yield chunk
    finally:
        close_iter(f)


def unquote_etag(etag):
    etag = (etag or '').strip()
    if etag.startswith('W/'):
        etag = etag[2:]
    return etag.strip('"')


_MD5 = re.compile('[0-9a-fA-F]{32}')


def is_md5(value):
    return bool(value) and _MD5.fullmatch(value) is not None
