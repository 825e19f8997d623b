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
The one compare-and-copy engine, used by the ``swiftsync sync`` daemon and
by ``swiftsync mirror``, between any two :class:`RemoteStore`.

``Transfer(src, dst).sync(name)``:

* **unchanged** (same content, same user metadata, same content-type):
  nothing is sent, :attr:`Outcome.SKIPPED`. Same content means the same
  whole-content md5 when both sides know it, else the source etag recorded
  on the destination at upload time (large objects), else equal etags;
* **metadata only**: a POST (Swift) or an in-place copy (S3),
  :attr:`Outcome.METADATA`;
* otherwise a streamed copy, :attr:`Outcome.COPIED`. Objects that are large
  at the source (SLO, DLO, S3 multipart) or bigger than ``segment_size``
  become a multipart upload (S3) or an SLO (Swift). An SLO's segments give
  the parts one for one when they obey the destination's part rules (S3:
  every part but the last at least 5 MiB, at most 5 GiB, at most 10,000
  parts; no ranged segments); otherwise the content is cut again into
  ``segment_size`` parts. Each part is md5-checked against its segment.

The source is read with ``If-Match`` on every request (segments included)
and a DLO's or SLO's segment list is checked against its etag, so an object
that changes while being copied is detected; the copy is then tried again
from a fresh HEAD (``change_retries``), and what was half-written is
removed (multipart uploads aborted, segments deleted): mixed data is never
stored.

Errors: a :class:`StoreError` that outlives ``retries`` propagates (its
``retryable`` says whether trying later makes sense); ``FAILED`` is only for
objects that cannot be stored at all (too large, name too long).
"""

import base64
import enum
import hashlib
import math
import time
from collections import namedtuple
from urllib.parse import unquote

from swiftsync.stores.base import (
    META_LARGE, META_MD5, META_SOURCE_ETAG, MiB, NotFound, PartData,
    SourceChanged, StoreError, close_iter, is_green, is_md5)


#: ``Transfer.sync(dst_info=UNKNOWN)``: the destination is to be asked
UNKNOWN = object()


class _Counted(object):
    """Counts the bytes of a body into ``stats['bytes']`` as they pass."""

    def __init__(self, body, stats):
        self._body, self._stats = iter(body), stats

    def __iter__(self):
        return self

    def __next__(self):
        chunk = next(self._body)
        self._stats['bytes'] += len(chunk)
        return chunk


class Outcome(enum.Enum):
    COPIED = 'copied'
    METADATA = 'metadata'
    SKIPPED = 'skipped'
    DELETED = 'deleted'
    MISSING = 'missing'
    FAILED = 'failed'


#: A byte range of one source object: ``store.get(name)`` from ``offset``,
#: ``length`` bytes, read with ``If-Match: match``; ``md5`` is the md5 of
#: exactly these bytes when known (a whole segment); ``data`` is inline
#: content (SLO data segments) instead of a store object.
Piece = namedtuple('Piece', 'store name offset length match md5 data')
#: One part to upload: ``slices`` are (piece index, offset in the piece,
#: length).
Part = namedtuple('Part', 'number size slices md5')


class PlanError(ValueError):
    pass


def plan_parts(pieces, part_size, min_part, max_part, max_parts):
    """Cut ``pieces`` (Piece-like: ``length``, ``md5``, ``offset``) into
    parts. One part per piece when every piece is a whole object with a
    known md5 and the rules hold; else parts of ``part_size`` (grown so
    that they fit in ``max_parts``) cut across pieces.

    :raises PlanError: the object cannot fit in ``max_parts`` parts of at
                       most ``max_part`` bytes
    """
    total = sum(p.length for p in pieces)
    last = len(pieces) - 1
    # a plain object above part_size is one piece, not a large object's
    # segment: it must be cut like any other stream
    whole_and_big = len(pieces) == 1 and pieces[0].length > part_size
    aligned = 0 < len(pieces) <= max_parts and not whole_and_big and all(
        p.md5 and p.data is None and 0 < p.length <= max_part and
        (p.length >= min_part or i == last) for i, p in enumerate(pieces))
    if aligned:
        return [Part(i + 1, p.length, [(i, 0, p.length)], p.md5)
                for i, p in enumerate(pieces)]
    size = max(part_size, min_part, 1)
    needed = math.ceil(total / max_parts) if total else 1
    if needed > size:
        size = math.ceil(needed / MiB) * MiB
    if size > max_part:
        raise PlanError('%d bytes do not fit in %d parts of at most %d '
                        'bytes' % (total, max_parts, max_part))
    parts = []
    slices, filled = [], 0
    for i, p in enumerate(pieces):
        pos = 0
        while pos < p.length:
            n = min(p.length - pos, size - filled)
            slices.append((i, pos, n))
            filled += n
            pos += n
            if filled == size:
                parts.append(Part(len(parts) + 1, filled, slices, None))
                slices, filled = [], 0
    if filled or not parts:
        parts.append(Part(len(parts) + 1, filled, slices, None))
    if len(parts) == 1 and len(slices) == 1 and parts[0].size == total:
        i = parts[0].slices[0][0] if parts[0].slices else 0
        if pieces and pieces[i].md5 and pieces[i].length == total:
            parts[0] = parts[0]._replace(md5=pieces[i].md5)
    return parts


def slo_etag(segments):
    """The etag Swift gives an SLO with these stored manifest entries."""
    h = hashlib.md5()
    for seg in segments:
        if 'data' in seg:
            r = hashlib.md5(base64.b64decode(seg['data'])).hexdigest()
        elif seg.get('range'):
            r = '%s:%s;' % (seg['hash'], seg['range'])
        else:
            r = seg['hash']
        h.update(r.encode('ascii'))
    return h.hexdigest()


def _parse_range(rng, size):
    """Swift SLO segment range 'a-b', 'a-', '-n' -> (offset, length)."""
    first, _, last = rng.partition('-')
    if first == '':
        n = min(int(last), size)
        return size - n, n
    first = int(first)
    end = size - 1 if last == '' else min(int(last), size - 1)
    return first, end - first + 1


def same_content(src, dst):
    if src.size != dst.size:
        return False
    if src.content_md5 and dst.content_md5:
        return src.content_md5 == dst.content_md5
    recorded = dst.internal.get(META_SOURCE_ETAG)
    if recorded:
        return recorded == src.etag
    return bool(src.etag) and src.etag == dst.etag


def sleep(seconds):
    time.sleep(seconds)  # green under eventlet's monkey patching


def with_retries(fn, retries=3, backoff=0.5, max_backoff=30.0, logger=None,
                 what=''):
    """Call ``fn()``; on a retryable StoreError try again up to ``retries``
    times, sleeping ``backoff`` doubled each time (at most
    ``max_backoff``). SourceChanged is not retried here."""
    delay = backoff
    for attempt in range(retries + 1):
        try:
            return fn()
        except StoreError as e:
            # a changed source is retried from a fresh HEAD by the caller
            if (not e.retryable or attempt == retries or
                    isinstance(e, SourceChanged)):
                raise
            if logger:
                logger.info('%s: %s; retrying in %.1fs', what, e, delay)
            sleep(delay)
            delay = min(delay * 2, max_backoff)


class Transfer:
    """Compare and copy objects from ``src`` to ``dst``.

    :param segment_size: part/segment size of large uploads, and the size
                         above which a plain object is uploaded in parts
    :param metadata_filter: None (copy all user metadata), an iterable of
                            lower-case names to copy, or a callable
                            ``dict -> dict``
    :param retries: retries of a request failing with a retryable error
    :param change_retries: copies started again when the source changed
    :param dlo_to_slo: a DLO goes to a Swift destination as an SLO (True)
                       or as a DLO over segments in ``<container>_segments``
    """

    def __init__(self, src, dst, segment_size=100 * MiB, logger=None,
                 metadata_filter=None, retries=2, backoff=0.5,
                 change_retries=2, dlo_to_slo=True):
        self.src = src
        self.dst = dst
        self.segment_size = segment_size
        self.logger = logger
        if metadata_filter is None or callable(metadata_filter):
            self.metadata_filter = metadata_filter
        else:
            names = frozenset(n.lower() for n in metadata_filter)
            self.metadata_filter = lambda m: {
                k: v for k, v in m.items() if k in names}
        self.retries = retries
        self.backoff = backoff
        self.dlo_to_slo = dlo_to_slo
        self.change_retries = change_retries
        #: counters, for logs and benchmarks
        self.stats = {'bytes': 0, 'requests_put': 0}

    # -- helpers ----------------------------------------------------------

    def _retry(self, fn, what):
        return with_retries(fn, self.retries, self.backoff,
                            logger=self.logger, what=what)

    def _user_meta(self, info):
        meta = dict(info.metadata)
        if self.metadata_filter:
            meta = self.metadata_filter(meta)
        return meta

    def _log(self, level, msg, *args):
        if self.logger:
            getattr(self.logger, level)(msg, *args)

    # -- public -----------------------------------------------------------

    def sync(self, name, dst_name=None, src_info=None, dst_info=UNKNOWN):
        """Make ``dst_name`` (default ``name``) a copy of the source object
        ``name``. ``src_info`` (from a HEAD, not a listing) saves a HEAD
        when the caller has one. ``dst_info=None`` says the destination is
        known not to have the object (from a listing): a plain object is
        then copied with one GET and one PUT, no HEAD at all."""
        dst_name = name if dst_name is None else dst_name
        if not self.dst.name_fits(dst_name):
            self._log('warning', '%s: name too long for %r', name, self.dst)
            return Outcome.FAILED
        if dst_info is None and src_info is not None and not (
                src_info.is_large or src_info.size > self.segment_size):
            outcome = self._copy_new(name, dst_name, src_info)
            if outcome is not None:
                return outcome
            src_info = None
        if src_info is not None and src_info.extra.get('listing'):
            # a listing entry lacks metadata and content-type: HEAD it
            src_info = None
        for attempt in range(self.change_retries + 1):
            if src_info is None:
                src_info = self._retry(lambda: self.src.head(name),
                                       'HEAD %s' % name)
            if src_info is None:
                return Outcome.MISSING
            try:
                return self._sync_once(name, dst_name, src_info)
            except SourceChanged as e:
                if attempt == self.change_retries:
                    raise
                self._log('info', '%s changed while being copied (%s); '
                          'trying again', name, e)
                src_info = None
        raise AssertionError('unreachable')

    def delete(self, dst_name):
        gone = self._retry(lambda: self.dst.delete(dst_name),
                           'DELETE %s' % dst_name)
        return Outcome.DELETED if gone else Outcome.MISSING

    # -- the work ---------------------------------------------------------

    def _sync_once(self, name, dst_name, src_info):
        dst_info = self._retry(lambda: self.dst.head(dst_name),
                               'HEAD %s' % dst_name)
        meta = self._user_meta(src_info)
        if dst_info is not None and same_content(src_info, dst_info):
            if (meta == dst_info.metadata and
                    src_info.content_type == dst_info.content_type):
                return Outcome.SKIPPED
            full = dict(meta)
            full.update(dst_info.internal)
            try:
                self._retry(lambda: self.dst.post(
                    dst_name, src_info.content_type, full),
                    'POST %s' % dst_name)
                return Outcome.METADATA
            except StoreError as e:
                if e.retryable:
                    raise
                self._log('info', '%s: metadata update refused (%s); '
                          'copying it again', dst_name, e)
        old_segments = self._old_segments(dst_name, dst_info)
        try:
            large = src_info.is_large or src_info.size > self.segment_size
            if large:
                self._copy_large(name, dst_name, src_info, meta)
            else:
                self._copy_plain(name, dst_name, src_info, meta)
        except PlanError as e:
            self._log('error', '%s: %s', name, e)
            return Outcome.FAILED
        self._delete_segments(old_segments)
        return Outcome.COPIED

    def _pieces(self, name, info):
        """The source content as a list of Piece."""
        src = self.src
        if info.extra.get('slo') and hasattr(src, 'get_manifest'):
            minfo, manifest = self._retry(
                lambda: src.get_manifest(name), 'GET %s manifest' % name)
            if manifest is None:
                raise SourceChanged('%s is no longer an SLO' % name)
            if slo_etag(manifest) != info.etag:
                raise SourceChanged('%s: manifest does not match etag %s'
                                    % (name, info.etag))
            pieces = self._slo_pieces(manifest, depth=0)
        elif info.extra.get('dlo') and hasattr(src, 'list_segments'):
            segs = self._retry(lambda: src.list_segments(info.extra['dlo']),
                               'LIST %s segments' % name)
            etag = hashlib.md5(''.join(
                s.etag for s in segs).encode('ascii')).hexdigest()
            if etag != info.etag:
                raise SourceChanged('%s: DLO segments changed' % name)
            container = unquote(info.extra['dlo'].partition('/')[0])
            store = src.sibling(container)
            pieces = [Piece(store, s.name, 0, s.size, s.etag, s.etag, None)
                      for s in segs if s.size]
        else:
            md5 = info.content_md5 if not info.is_large else None
            pieces = [Piece(src, name, 0, info.size, info.etag, md5, None)]
        total = sum(p.length for p in pieces)
        if total != info.size:
            raise SourceChanged('%s: segments hold %d bytes, not %d'
                                % (name, total, info.size))
        return pieces

    def _slo_pieces(self, manifest, depth):
        if depth > 10:
            raise StoreError('SLO nested too deep', None, False)
        pieces = []
        for seg in manifest:
            if 'data' in seg:
                data = base64.b64decode(seg['data'])
                pieces.append(Piece(None, None, 0, len(data), None,
                                    hashlib.md5(data).hexdigest(), data))
                continue
            container, _, obj = seg['name'].lstrip('/').partition('/')
            store = self.src.sibling(container)
            size = int(seg['bytes'])
            if seg.get('sub_slo'):
                _, sub = self._retry(lambda: store.get_manifest(obj),
                                     'GET %s manifest' % seg['name'])
                if sub is None or slo_etag(sub) != seg['hash']:
                    raise SourceChanged('sub-SLO %s changed' % seg['name'])
                inner = self._slo_pieces(sub, depth + 1)
                if seg.get('range'):
                    offset, length = _parse_range(seg['range'], size)
                    inner = _cut(inner, offset, length)
                pieces.extend(inner)
                continue
            if seg.get('range'):
                offset, length = _parse_range(seg['range'], size)
                pieces.append(Piece(store, obj, offset, length, seg['hash'],
                                    None, None))
            else:
                pieces.append(Piece(store, obj, 0, size, seg['hash'],
                                    seg['hash'], None))
        return [p for p in pieces if p.length]

    def _read(self, pieces, slices):
        """Chunks of the given slices, each read with If-Match."""
        for index, offset, length in slices:
            piece = pieces[index]
            if piece.data is not None:
                yield piece.data[offset:offset + length]
                continue
            if length == 0:
                continue
            start = piece.offset + offset
            rng = 'bytes=%d-%d' % (start, start + length - 1)
            if_headers = {'If-Match': piece.match} if piece.match else None
            _, status, _, body = piece.store.get(piece.name, rng, if_headers)
            got = 0
            try:
                for chunk in body:
                    got += len(chunk)
                    if got > length:
                        raise SourceChanged('%s: more data than expected'
                                            % piece.name)
                    yield chunk
            finally:
                close_iter(body)
            if got != length:
                raise SourceChanged('%s: %d bytes read of %d' % (
                    piece.name, got, length))
            self.stats['bytes'] += got

    def _copy_new(self, name, dst_name, listed):
        """One GET streamed into one PUT, for an object the destination
        lacks: the GET (If-Match the listed etag) brings the metadata a
        HEAD would. None when the general path must decide instead."""
        def copy():
            info, _, _, body = self.src.get(
                name, None, {'If-Match': listed.etag} if listed.etag
                else None)
            if info.is_large or info.size > self.segment_size:
                close_iter(body)
                return None
            md5 = info.content_md5 or (info.etag if is_md5(info.etag)
                                       else None)
            try:
                self.dst.put(dst_name, _Counted(body, self.stats),
                             info.size, info.content_type,
                             self._user_meta(info), etag=md5)
            finally:
                close_iter(body)
            self.stats['requests_put'] += 1
            return Outcome.COPIED
        try:
            return self._retry(copy, 'copy %s' % name)
        except NotFound:
            return Outcome.MISSING
        except SourceChanged:
            return None

    def _copy_plain(self, name, dst_name, info, meta):
        pieces = self._pieces(name, info)
        slices = [(i, 0, p.length) for i, p in enumerate(pieces)]

        def put():
            return self.dst.put(dst_name, self._read(pieces, slices),
                                info.size, info.content_type, meta,
                                etag=info.content_md5)
        self.stats['requests_put'] += 1
        return self._retry(put, 'PUT %s' % dst_name)

    def _copy_large(self, name, dst_name, info, meta):
        pieces = self._pieces(name, info)
        parts = plan_parts(pieces, self.segment_size, self.dst.min_part_size,
                           self.dst.max_part_size, self.dst.max_parts)
        meta = dict(meta)
        kind = ('slo' if info.extra.get('slo') else
                'dlo' if info.extra.get('dlo') else
                'mpu' if info.is_large else 'split')
        meta[META_LARGE] = kind
        meta[META_SOURCE_ETAG] = info.etag
        if info.content_md5:
            meta[META_MD5] = info.content_md5
        manifest = None
        if kind == 'slo' and self.dst.kind == 's3':
            # kept beside the object: restores it as the same SLO
            manifest = [{'name': '/%s/%s' % (p.store.container, p.name),
                         'hash': p.match, 'bytes': p.length}
                        for p in pieces if p.store is not None]

        def put():
            def gen():
                for part in parts:
                    yield PartData(part.number, part.size,
                                   self._read(pieces, part.slices), part.md5)
            self.stats['requests_put'] += len(parts)
            kwargs = {}
            if not (self.src.thread_safe or is_green()):
                kwargs['concurrency'] = 1
            if kind == 'dlo' and self.dst.kind == 'swift' and \
                    not self.dlo_to_slo:
                kwargs['dlo'] = True
            return self.dst.put_large(dst_name, gen(), info.size,
                                      info.content_type, meta,
                                      manifest=manifest, **kwargs)
        self._log('debug', '%s: %d parts to %r', name, len(parts), self.dst)
        return self._retry(put, 'PUT %s' % dst_name)

    def _old_segments(self, dst_name, dst_info):
        """Segments of the SLO (or of the DLO swiftsync wrote) being
        replaced on a Swift destination."""
        if dst_info is None or not hasattr(self.dst, 'get_manifest'):
            return []
        try:
            if dst_info.extra.get('dlo'):
                return self.dst.own_dlo_segments(dst_info)
            if not dst_info.extra.get('slo'):
                return []
            _, manifest = self.dst.get_manifest(dst_name)
        except StoreError:
            return []
        return [seg['name'] for seg in manifest or [] if 'name' in seg]

    def _delete_segments(self, paths):
        for path in paths:
            container, _, obj = path.lstrip('/').partition('/')
            try:
                self.dst.sibling(container).delete(obj)
            except StoreError as e:
                self._log('warning', 'old segment %s not deleted: %s',
                          path, e)


def _cut(pieces, offset, length):
    """The pieces covering [offset, offset + length) of their
    concatenation."""
    out = []
    pos = 0
    for p in pieces:
        start, end = max(offset, pos), min(offset + length, pos + p.length)
        if start < end:
            whole = start == pos and end == pos + p.length
            out.append(p._replace(
                offset=p.offset + start - pos, length=end - start,
                md5=p.md5 if whole else None))
        pos += p.length
    return out


__all__ = ['Outcome', 'Transfer', 'Piece', 'Part', 'PlanError',
           'plan_parts', 'slo_etag', 'same_content', 'with_retries']
