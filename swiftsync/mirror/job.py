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
One mirror scenario: list both sides in name order, decide per name, and
hand the copies to the shared transfer engine (:mod:`swiftsync.transfer`).

Deciding from the two listings is what keeps a run with nothing to do
cheap: a plain object whose size and MD5 match on both sides is skipped
without a request of its own. Only where a listing cannot tell (a large
object on either side: S3 multipart ETags and SLO ETags are not content
MD5s) does the engine look closer, by the MD5 and source ETag it recorded
when it copied the object.
"""

import fnmatch
import logging
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from swiftsync.stores.base import StoreError, is_md5
from swiftsync.throttle import ThrottledStore
from swiftsync.transfer import Outcome, Transfer

LOG = logging.getLogger('swiftsync.mirror')


class MirrorError(Exception):
    """A scenario that cannot start (missing bucket, bad credentials)."""


class Options(object):
    def __init__(self, workers=8, max_size=None, dry_run=False, delete=False,
                 max_delete=None, include=(), exclude=(), size_only=False,
                 segment_size=1 << 30, bandwidth=None, retries=3,
                 progress=None):
        self.workers = workers
        self.max_size = max_size
        self.dry_run = dry_run
        self.delete = delete
        self.max_delete = max_delete
        self.include = list(include)
        self.exclude = list(exclude)
        self.size_only = size_only
        self.segment_size = segment_size
        self.bandwidth = bandwidth
        self.retries = retries
        self.progress = progress

    def wanted(self, name):
        if self.include and not any(fnmatch.fnmatchcase(name, p)
                                    for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(name, p) for p in self.exclude)


def _objects(store, prefix):
    """(relative name, ObjectInfo) in name order; subdirs are skipped."""
    for entry in store.list(prefix=prefix):
        if isinstance(entry, dict):
            continue
        yield entry.name[len(prefix):], entry


#: names per page of an S3 listing: the size of one parallel listing range
S3_PAGE = 1000


def _range(store, prefix, marker, last):
    """(relative name, info) of the names in (marker, last], in order."""
    out = []
    # end_marker: an S3 store does not ask for a page past ``last``
    for entry in store.list(prefix=prefix, marker=marker,
                            end_marker='' if last is None else last + '\0'):
        if isinstance(entry, dict):
            continue
        if last is not None and entry.name > last:
            break
        out.append((entry.name[len(prefix):], entry))
    return out


def _drained(results, items_of):
    """Items put by :func:`listed_ahead`'s thread, as they come."""
    while True:
        result = results.get()
        if result is None:
            return
        if isinstance(result, BaseException):
            raise result
        yield from items_of(result)


def listed_ahead(src, partition=None):
    """(source items, destination items) with ``src`` (the source's
    (relative name, info) in name order) read by a thread of its own,
    so that its listing overlaps whatever else the run waits for.

    ``partition`` (store, prefix, pool), or a Future of that or of None:
    list that destination (S3) in ranges cut at every S3_PAGE-th source
    name, each fetched on ``pool`` as soon as the source listing has got
    that far. S3 lists 1,000 keys a page, one page after the other; the
    source's names say where the pages will fall, so the pages can be
    fetched at once. Whatever the names really are, the ranges (b0, b1],
    (b1, b2] ... (bk, end) cover everything once.
    """
    batches, ranges = queue.SimpleQueue(), queue.SimpleQueue()
    decided = [partition]

    def part():
        # a Future: decided once the destination has been checked
        if isinstance(decided[0], Future):
            decided[0] = decided[0].result()
        return decided[0]

    def lister():
        try:
            batch, low = [], ''
            for item in src:
                batch.append(item)
                if len(batch) == S3_PAGE:
                    if part():
                        store, prefix, pool = part()
                        high = prefix + item[0]
                        ranges.put(pool.submit(_range, store, prefix, low,
                                               high))
                        low = high
                    batches.put(batch)
                    batch = []
            if part():
                store, prefix, pool = part()
                ranges.put(pool.submit(_range, store, prefix, low, None))
            batches.put(batch)
        except BaseException as e:
            batches.put(e)
            ranges.put(e)
        batches.put(None)
        ranges.put(None)

    threading.Thread(target=lister, name='mirror-lister',
                     daemon=True).start()
    return (_drained(batches, lambda batch: batch),
            _drained(ranges, lambda future: future.result()) if partition
            else None)


def join_listings(src, dst):
    """Merge two name-ordered streams: (name, src_info|None, dst_info|None)."""
    s, d = next(src, None), next(dst, None)
    while s is not None or d is not None:
        if d is None or (s is not None and s[0] < d[0]):
            yield s[0], s[1], None
            s = next(src, None)
        elif s is None or d[0] < s[0]:
            yield d[0], None, d[1]
            d = next(dst, None)
        else:
            yield s[0], s[1], d[1]
            s, d = next(src, None), next(dst, None)


def listing_says_same(src, dst, size_only):
    """True/False when the listings decide, None when the engine must."""
    if src.size != dst.size:
        return False
    if size_only:
        return True
    if is_md5(src.etag) and is_md5(dst.etag) and not (
            src.is_large or dst.is_large):
        return src.etag == dst.etag
    return None


class Ordered(object):
    """Passes a listing through, noting whether it was in name order.

    Some S3 clones list out of byte order across pages; a merge of
    unordered listings may pair names wrongly, which is harmless for
    copies (an extra copy) but not for deletions.
    """

    def __init__(self, items):
        self._items = iter(items)
        self._last = None
        self.ordered = True

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self._items)
        if self._last is not None and item[0] <= self._last:
            self.ordered = False
        self._last = item[0]
        return item


class Mirror(object):
    def __init__(self, name, src, dst, src_prefix, dst_prefix, options,
                 stats):
        self.name = name
        self.src, self.dst = src, dst
        self.src_prefix, self.dst_prefix = src_prefix, dst_prefix
        self.options = options
        self.stats = stats
        if options.bandwidth:
            src = self.src = ThrottledStore(src, options.bandwidth)
        self.transfer = Transfer(src, dst, segment_size=options.segment_size,
                                 retries=options.retries,
                                 logger=LOG)
        self._slots = threading.BoundedSemaphore(options.workers * 2)
        self._dst_empty = False   # a dry run to a container not made yet

    def _check(self, side, store, prefix):
        """A side reachable before any work: a clear error otherwise."""
        try:
            next(iter(store.list(prefix=prefix, limit=1)), None)
        except StoreError as e:
            if e.status == 404 and side == 'destination' and hasattr(
                    store, 'ensure_container'):
                # as `swift upload` does; an S3 bucket is never made
                # here (its region and policy are the owner's call)
                if self.options.dry_run:
                    self._dst_empty = True
                else:
                    self._create(store)
                return
            if e.status == 404:
                raise MirrorError('%s %r does not exist' % (side, store))
            if e.status in (401, 403):
                raise MirrorError('%s %r: access denied (%s)'
                                  % (side, store, e.status))
            raise MirrorError('%s %r: %s' % (side, store, e))

    def _create(self, store):
        try:
            store.ensure_container(store.container)
        except StoreError as e:
            raise MirrorError('destination %r cannot be created: %s'
                              % (store, e))

    def run(self):
        self._check('source', self.src, self.src_prefix)
        doomed = []
        with ThreadPoolExecutor(self.options.workers) as pool:
            for rel, src, dst in join_listings(*self._listings(pool)):
                if not self.options.wanted(rel):
                    self.stats.add('excluded')
                    continue
                if src is None:
                    doomed.append(rel)
                    continue
                if (self.options.max_size is not None and
                        src.size > self.options.max_size):
                    self.stats.add('too_large')
                    self.stats.skipped_large.append((self.name, rel,
                                                     src.size))
                    continue
                same = None if dst is None else listing_says_same(
                    src, dst, self.options.size_only)
                if same:
                    self.stats.add('skipped')
                    continue
                self._slots.acquire()
                future = pool.submit(self._copy, rel, src, dst)
                future.add_done_callback(lambda f: self._slots.release())
            if self.options.delete:
                if self._src_order.ordered and self._dst_order.ordered:
                    self._delete(pool, doomed)
                elif doomed:
                    self.stats.fail(self.name, '*', (
                        'deleting nothing: a listing was out of name order '
                        '(an S3 clone\'s listing quirk), so the objects '
                        'missing at the source are not known for sure'))
        return self.stats

    def _listings(self, pool):
        """The two sides' listings, as name-ordered iterators.

        The source is listed by a thread of its own, from the moment it
        is found reachable: while the destination is checked (and its S3
        client, built on a thread, waited for), and then ahead of the
        destination's listing. A destination on S3 is listed in parallel
        ranges when the source is on Swift (10,000 names a page): the
        source says where S3's pages of 1,000 will fall. Only ever the
        destination: some S3 clones (SeaweedFS) skip keys "under" a
        StartAfter name; a destination key missed costs a needless copy, a
        source key missed would be lost. Both are checked for order: see
        :class:`Ordered`.
        """
        partition = Future()
        src = self._src_order = Ordered(_objects(self.src, self.src_prefix))
        src, ranges = listed_ahead(src, partition)
        try:
            self._check('destination', self.dst, self.dst_prefix)
        except BaseException as e:
            partition.set_exception(e)
            raise
        if self._dst_empty:
            partition.set_result(None)
            dst = iter(())
        elif self.dst.kind == 's3' and self.src.kind == 'swift':
            partition.set_result((self.dst, self.dst_prefix, pool))
            dst = ranges
        else:
            partition.set_result(None)
            dst = _objects(self.dst, self.dst_prefix)
        self._dst_order = Ordered(dst)
        return src, self._dst_order

    def _copy(self, rel, src, dst):
        try:
            if self.options.dry_run:
                self.stats.add('updated' if dst else 'copied',
                               nbytes=src.size)
                return
            if dst is None:
                # new at the destination: one GET and one PUT
                outcome = self.transfer.sync(
                    self.src_prefix + rel, self.dst_prefix + rel,
                    src_info=src, dst_info=None)
            else:
                outcome = self.transfer.sync(self.src_prefix + rel,
                                             self.dst_prefix + rel)
            if outcome is Outcome.COPIED:
                self.stats.add('updated' if dst else 'copied',
                               nbytes=src.size)
            elif outcome is Outcome.METADATA:
                self.stats.add('updated')
            elif outcome in (Outcome.SKIPPED, Outcome.MISSING):
                # MISSING: deleted at the source since it was listed
                self.stats.add('skipped')
            else:
                self.stats.fail(self.name, rel, 'not copied')
        except StoreError as e:
            self.stats.fail(self.name, rel, str(e))
        except Exception as e:  # one object must not stop the others
            LOG.exception('%s: %s', self.name, rel)
            self.stats.fail(self.name, rel, '%s: %s' % (type(e).__name__, e))
        finally:
            if self.options.progress:
                self.options.progress()

    def _delete(self, pool, doomed):
        limit = self.options.max_delete
        if limit is not None and len(doomed) > limit:
            self.stats.fail(self.name, '*', (
                'refusing to delete %d objects (more than --max-delete %d)'
                % (len(doomed), limit)))
            return
        for rel in doomed:
            if self.options.dry_run:
                self.stats.add('deleted')
                continue
            self._slots.acquire()
            future = pool.submit(self._delete_one, rel)
            future.add_done_callback(lambda f: self._slots.release())

    def _delete_one(self, rel):
        try:
            if self.transfer.delete(self.dst_prefix + rel) is Outcome.DELETED:
                self.stats.add('deleted')
        except StoreError as e:
            self.stats.fail(self.name, rel, 'delete: %s' % e)
