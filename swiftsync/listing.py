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
Merging container listings (pure: no I/O).

Several sorted listings -- the local container's, a remote store's, a peer
cluster's -- are merged into the one listing a Swift client expects from a
container GET:

* entries are Swift JSON listing entries: dicts with ``name`` (an object) or
  ``subdir`` (a pseudo-directory when ``delimiter`` is given);
* ``prefix``, ``marker``, ``end_marker``, ``delimiter``, ``path``, ``limit``
  and ``reverse`` mean exactly what they mean to Swift's container server
  (with ``reverse`` the markers swap roles; a subdir equal to the lower
  bound is left out so that paging with the last entry as marker neither
  repeats nor loses an entry);
* each name appears once: when several sources list the same name a
  preference (by default: the first source, e.g. the local one) picks the
  entry, the others are dropped; subdirs are deduplicated;
* sources are consumed lazily (a heap of one head per source), so memory
  is bounded by the page, not by the container, and a source is read no
  further than the page needs: nothing is read ahead past its last entry,
  so a source that fetches pages lazily (a remote store's listing, the
  local one in chunks) fetches no page it does not use.

Sources may already have applied the parameters (a Swift listing) or not
(a raw sorted stream of names): filtering here is idempotent.

The ``render_*`` helpers produce json, xml and plain bodies the way Swift's
container GET does (``swift.common.middleware.listing_formats``), keeping a
``content_location`` field of remote-only entries in xml too.
"""

import heapq
import json
import math
import time
from datetime import datetime, timezone
from xml.etree.ElementTree import Element, SubElement, tostring

#: Swift's default (and maximum) container listing page
DEFAULT_LIMIT = 10000

FORMAT2CONTENT_TYPE = {'plain': 'text/plain', 'json': 'application/json',
                       'xml': 'application/xml'}


class ListingParams:
    """The listing parameters of one container GET, already decoded
    (``str``). ``limit`` None means :data:`DEFAULT_LIMIT`."""

    __slots__ = ('prefix', 'marker', 'end_marker', 'delimiter', 'limit',
                 'reverse', 'path')

    def __init__(self, prefix='', marker='', end_marker='', delimiter='',
                 limit=None, reverse=False, path=None):
        self.prefix = prefix or ''
        self.marker = marker or ''
        self.end_marker = end_marker or ''
        self.delimiter = delimiter or ''
        self.limit = DEFAULT_LIMIT if limit is None else int(limit)
        self.reverse = bool(reverse)
        self.path = path
        if path is not None:
            # like Swift: path=dir lists dir/'s direct children only
            self.prefix = (path.rstrip('/') + '/') if path else ''
            self.delimiter = '/'

    @classmethod
    def from_query(cls, params, max_limit=DEFAULT_LIMIT):
        """From a dict of query parameters (``req.params``).

        :raises ValueError: limit is not an integer in [0, max_limit]
        """
        limit = params.get('limit')
        if limit in (None, ''):
            limit = max_limit
        else:
            limit = int(limit)
            if limit < 0 or limit > max_limit:
                raise ValueError('limit must be between 0 and %d' % max_limit)
        rev = str(params.get('reverse', '')).lower() in (
            '1', 'true', 'yes', 'on', 't', 'y')
        return cls(prefix=params.get('prefix', ''),
                   marker=params.get('marker', ''),
                   end_marker=params.get('end_marker', ''),
                   delimiter=params.get('delimiter', ''),
                   limit=limit, reverse=rev, path=params.get('path'))

    @property
    def bounds(self):
        """(lower, upper) exclusive name bounds ('' = unbounded)."""
        if self.reverse:
            return self.end_marker, self.marker
        return self.marker, self.end_marker

    def as_kwargs(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self):
        return 'ListingParams(%s)' % ', '.join(
            '%s=%r' % (k, getattr(self, k)) for k in self.__slots__)


def entry_key(entry):
    """The sort key of a listing entry: its name or subdir."""
    name = entry.get('name')
    return entry['subdir'] if name is None else name


def _normalize(index, source, params):
    """Yield (key, index, entry) from one sorted source, keeping what the
    parameters select, collapsing names into subdirs under a delimiter."""
    prefix, delim, path = params.prefix, params.delimiter, params.path
    lo, hi = params.bounds
    reverse = params.reverse
    plen = len(prefix)
    last_subdir = None
    if lo and hi and lo >= hi:
        return  # no name lies between (a subdir could seem to)
    for entry in source:
        name = entry.get('name')
        if name is None:
            sub = entry.get('subdir')
            if sub is None:
                continue
            if not sub.startswith(prefix) or len(sub) <= plen:
                continue
            if delim:
                end = sub.find(delim, plen)
                if end >= 0:
                    sub = sub[:end + len(delim)]
            if path is not None:
                continue  # path listings have no subdirs
            # some name under sub must lie strictly between lo and hi
            if hi and sub >= hi:
                continue
            if lo and (sub == lo or (sub < lo and not lo.startswith(sub))):
                continue
            if sub == last_subdir:
                continue
            last_subdir = sub
            if entry.get('subdir') != sub or len(entry) != 1:
                entry = {'subdir': sub}
            yield sub, index, entry
            continue
        # an object
        if reverse:
            if lo and name <= lo:
                return  # sorted: nothing further qualifies
            if hi and name >= hi:
                continue
        else:
            if hi and name >= hi:
                return
            if lo and name <= lo:
                continue
        if not name.startswith(prefix):
            if reverse and name < prefix:
                return
            if not reverse and name > prefix:
                return
            continue
        if delim:
            end = name.find(delim, plen)
            if end >= 0:
                if path is not None:
                    if len(name) > end + len(delim):
                        continue  # deeper than the path: not listed
                else:
                    sub = name[:end + len(delim)]
                    if sub == lo or sub == last_subdir:
                        continue
                    last_subdir = sub
                    yield sub, index, {'subdir': sub}
                    continue
            elif path is not None and name == prefix:
                continue
        yield name, index, entry


def prefer_first(group):
    """Preference: the entry of the first source listing the name."""
    return group[0][1]


def _newest_key(item):
    index, entry = item
    return entry.get('last_modified') or ''


def prefer_newest(group):
    """Preference: the entry with the latest ``last_modified`` (ties: the
    first source)."""
    best = group[0]
    for item in group[1:]:
        if _newest_key(item) > _newest_key(best):
            best = item
    return best[1]


def merge_listings(sources, params=None, prefer=prefer_first,
                   with_sources=False, **kwargs):
    """Merge sorted listings into one Swift listing page.

    :param sources: iterables of listing entries, each sorted in listing
        order (descending with ``reverse``); listed in preference order for
        the default ``prefer``
    :param params: a :class:`ListingParams`, or pass its fields as keyword
        arguments (prefix, marker, end_marker, delimiter, limit, reverse,
        path)
    :param prefer: ``f(group) -> entry`` where group is a list of
        ``(source index, entry)`` for one name, in source order
    :param with_sources: yield ``(entry, [source indexes])`` instead of
        entries (subdirs included)
    :returns: an iterator over at most ``limit`` entries
    """
    if params is None:
        params = ListingParams(**kwargs)
    elif kwargs:
        raise TypeError('give params or keyword arguments, not both')
    limit = params.limit
    if limit <= 0:
        return
    streams = [_normalize(i, src, params) for i, src in enumerate(sources)]
    # one head per stream: [key, index, entry, stream] (a list compares by
    # key, then by source index on a tie; a reversed listing pops the
    # largest key first through _Reversed)
    wrap = _Reversed if params.reverse else list
    heap = []
    for stream in streams:
        for key, index, entry in stream:
            heap.append(wrap((key, index, entry, stream)))
            break
    heapq.heapify(heap)
    count = 0
    try:
        while heap:
            # every stream's keys strictly progress, so the group of one
            # key is the heads holding it: a source is read further only
            # once its entry is out and another entry is still wanted (no
            # read ahead past the page: a lazy source never fetches more)
            key = heap[0][0]
            group = [heapq.heappop(heap)]
            while heap and heap[0][0] == key:
                group.append(heapq.heappop(heap))
            yield _pick([(h[1], h[2]) for h in group], prefer, with_sources)
            count += 1
            if count >= limit:
                return
            for head in group:
                for nkey, index, entry in head[3]:
                    if nkey != key:  # (a repeat within a source: dropped)
                        heapq.heappush(heap, wrap((nkey, index, entry,
                                                   head[3])))
                        break
    finally:
        _close_all(streams)


class _Reversed(list):
    """A heap head ordering the largest key first (ties: source order)."""
    __slots__ = ()

    def __lt__(self, other):
        if self[0] == other[0]:
            return self[1] < other[1]
        return self[0] > other[0]


def _pick(group, prefer, with_sources):
    if len(group) == 1:
        entry = group[0][1]
    elif 'subdir' in group[0][1]:
        entry = group[0][1]
    else:
        entry = prefer(group)
    if with_sources:
        return entry, [i for i, _ in group]
    return entry


def _close_all(streams):
    for s in streams:
        s.close()


def merge_page(sources, params=None, prefer=prefer_first, **kwargs):
    """:func:`merge_listings` as a list."""
    return list(merge_listings(sources, params, prefer, **kwargs))


# -- entries ---------------------------------------------------------------

#: formatted seconds (``%Y-%m-%dT%H:%M:%S``) by unix second: a listing's
#: entries mostly share few seconds, and strftime is the costly part
_SECONDS = {}
#: the first second datetime cannot show (year 10000)
_MAX_SECOND = 253402300800


def swift_last_modified(timestamp):
    """Swift's listing ``last_modified`` format from a unix time (what
    ``datetime.fromtimestamp(t, utc).strftime('%Y-%m-%dT%H:%M:%S.%f')``
    gives, microseconds rounded half-even alike, in a fraction of its
    time)."""
    ts = float(timestamp)
    if not 0 <= ts < _MAX_SECOND - 1:
        dt = datetime.fromtimestamp(ts, tz=timezone.utc)
        return dt.strftime('%Y-%m-%dT%H:%M:%S.%f')
    frac, whole = math.modf(ts)
    us = round(frac * 1e6)
    sec = int(whole)
    if us >= 1000000:
        sec += 1
        us -= 1000000
    prefix = _SECONDS.get(sec)
    if prefix is None:
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        prefix = _SECONDS[sec] = time.strftime('%Y-%m-%dT%H:%M:%S',
                                               time.gmtime(sec))
    return '%s.%06d' % (prefix, us)


def object_entry(name, etag, size, content_type, last_modified,
                 content_location=None, **extra):
    """A Swift JSON listing entry (``last_modified``: unix time or an
    already formatted string)."""
    if not isinstance(last_modified, str):
        last_modified = swift_last_modified(last_modified)
    entry = {'name': name, 'hash': etag, 'bytes': int(size),
             'content_type': content_type or 'application/octet-stream',
             'last_modified': last_modified}
    entry.update(extra)
    if content_location is not None:
        entry['content_location'] = content_location
    return entry


def entry_from_info(info, content_location=None):
    """A listing entry from a store's ``ObjectInfo`` (or a subdir dict)."""
    if isinstance(info, dict):
        return info
    return object_entry(info.name, info.etag, info.size, info.content_type,
                        info.last_modified or 0,
                        content_location=content_location)


# -- rendering -------------------------------------------------------------

def render_json(listing):
    """Swift's JSON listing body (ASCII, like the container server)."""
    return json.dumps(list(listing)).encode('ascii')


def render_plain(listing):
    """Swift's text/plain listing body: one name or subdir a line."""
    return b''.join(entry_key(e).encode('utf-8') + b'\n' for e in listing)


#: the object fields Swift puts in an xml listing, in Swift's order
XML_FIELDS = ('name', 'hash', 'bytes', 'content_type', 'last_modified')


def render_xml(listing, container):
    """Swift's xml container listing body, plus ``content_location`` for
    entries that carry it."""
    doc = Element('container', name=container)
    for entry in listing:
        if 'subdir' in entry:
            sub = SubElement(doc, 'subdir', name=entry['subdir'])
            SubElement(sub, 'name').text = entry['subdir']
            continue
        obj = SubElement(doc, 'object')
        for f in XML_FIELDS:
            SubElement(obj, f).text = str(entry[f])
        loc = entry.get('content_location')
        if loc is not None:
            if isinstance(loc, (list, tuple)):
                loc = ','.join(loc)
            SubElement(obj, 'content_location').text = str(loc)
    body = tostring(doc, encoding='UTF-8').replace(
        b"<?xml version='1.0' encoding='UTF-8'?>",
        b'<?xml version="1.0" encoding="UTF-8"?>', 1)
    if not body.startswith(b'<?xml '):
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
    return body


def render(listing, content_type, container):
    """(body, content type header) for ``application/json``,
    ``application/xml``/``text/xml`` or ``text/plain``."""
    listing = list(listing)
    if content_type.endswith('/xml'):
        body = render_xml(listing, container)
    elif content_type == 'text/plain':
        body = render_plain(listing)
    else:
        content_type = 'application/json'
        body = render_json(listing)
    return body, content_type + '; charset=utf-8'
