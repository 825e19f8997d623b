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

"""swiftsync.listing against a naive model (and the model against Swift's
own container broker)."""

import json
import os
import tempfile
import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, given, settings, strategies as st

from swiftsync import listing
from swiftsync.listing import ListingParams, merge_page

ALPHABET = ['a', 'b', '/', '-', '\u00e9', '\u4e2d', '\U0001F600']
names_st = st.text(alphabet=ALPHABET, min_size=1, max_size=6)
short_st = st.text(alphabet=ALPHABET, max_size=3)


@st.composite
def params_st(draw, with_limit=True, allow_path=True):
    kw = {
        'prefix': draw(short_st),
        'marker': draw(st.one_of(st.just(''), short_st, names_st)),
        'end_marker': draw(st.one_of(st.just(''), short_st, names_st)),
        'delimiter': draw(st.sampled_from(['', '/', '-', 'b/', '\u4e2d'])),
        'reverse': draw(st.booleans()),
        'limit': draw(st.integers(0, 12)) if with_limit else 10000,
    }
    if allow_path and draw(st.integers(0, 9)) == 0:
        kw['path'] = draw(st.sampled_from(['', 'a', 'a/', '/']))
    return ListingParams(**kw)


def model(names, p):
    """Sorted set of names, then the parameters applied naively."""
    lo, hi = p.bounds
    delim, prefix = p.delimiter, p.prefix
    out, seen = [], set()
    for n in sorted(set(names)):
        if not n.startswith(prefix):
            continue
        if (lo and n <= lo) or (hi and n >= hi):
            continue
        if delim:
            end = n.find(delim, len(prefix))
            if p.path is not None:
                if n == prefix or (end >= 0 and
                                   len(n) > end + len(delim)):
                    continue
            elif end >= 0:
                d = n[:end + len(delim)]
                if d != lo and d not in seen:
                    seen.add(d)
                    out.append({'subdir': d})
                continue
        out.append({'name': n})
    if p.reverse:
        out.reverse()
    return out[:p.limit]


def keys(entries):
    return [('d:' if 'subdir' in e else 'o:') + listing.entry_key(e)
            for e in entries]


def raw_source(names, src, reverse):
    ordered = sorted(set(names), reverse=reverse)
    return [{'name': n, 'src': src} for n in ordered]


def swift_source(names, src, p):
    """What a Swift container server returns for these names (per the
    model): one page of at most ``limit`` entries."""
    out = model(names, p)
    for e in out:
        if 'name' in e:
            e['src'] = src
    return out


sources_st = st.lists(st.lists(names_st, max_size=12), min_size=1,
                      max_size=3)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(sources_st, params_st(), st.lists(st.booleans(), min_size=3,
                                         max_size=3))
def test_merge_matches_model(name_lists, p, swift_style):
    sources = []
    for i, names in enumerate(name_lists):
        if swift_style[i]:
            sources.append(swift_source(names, i, p))
        else:
            sources.append(raw_source(names, i, p.reverse))
    got = merge_page(sources, p)
    union = [n for names in name_lists for n in names]
    assert keys(got) == keys(model(union, p))
    # each name from the first source that lists it
    for e in got:
        if 'name' in e:
            first = min(i for i, names in enumerate(name_lists)
                        if e['name'] in names)
            assert e['src'] == first


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(sources_st, params_st(with_limit=False, allow_path=False),
       st.integers(1, 5))
def test_paging_never_loses_or_repeats(name_lists, p, page):
    union = [n for names in name_lists for n in names]
    expected = keys(model(union, p))
    got = []
    marker = p.marker
    for _ in range(len(expected) + 2):
        kw = dict(p.as_kwargs(), marker=marker, limit=page)
        q = ListingParams(**kw)
        sources = [raw_source(names, i, q.reverse)
                   for i, names in enumerate(name_lists)]
        entries = merge_page(sources, q)
        got.extend(keys(entries))
        if len(entries) < page:
            break
        marker = listing.entry_key(entries[-1])
    assert got == expected
    assert len(set(got)) == len(got)


def test_preference_and_sources():
    local = [{'name': 'a', 'where': 'local'}, {'name': 'c', 'where': 'local'}]
    remote = [{'name': 'a', 'where': 'remote'},
              {'name': 'b', 'where': 'remote'}]
    got = merge_page([local, remote], limit=10)
    assert [(e['name'], e['where']) for e in got] == [
        ('a', 'local'), ('b', 'remote'), ('c', 'local')]
    got = merge_page([remote, local], limit=10)
    assert got[0]['where'] == 'remote'
    newer = [{'name': 'a', 'last_modified': '2026-01-02T00:00:00.000000'}]
    older = [{'name': 'a', 'last_modified': '2026-01-01T00:00:00.000000'}]
    got = merge_page([older, newer], prefer=listing.prefer_newest)
    assert got == newer
    got = list(listing.merge_listings([local, remote], limit=10,
                                      with_sources=True))
    assert [(e['name'], s) for e, s in got] == [
        ('a', [0, 1]), ('b', [1]), ('c', [0])]


def test_lazy_consumption():
    """Only about a page is read from each source."""
    consumed = [0, 0]

    def source(i, step):
        n = 0
        while True:
            consumed[i] += 1
            yield {'name': '%08d' % n}
            n += step
    got = merge_page([source(0, 2), source(1, 3)], limit=100)
    assert len(got) == 100
    assert max(consumed) <= 101


def test_nothing_read_past_the_page():
    """A source is advanced only when another entry is wanted: after the
    page's last entry, no source is read again (a lazy remote listing
    would fetch a page for nothing)."""
    consumed = [0, 0]

    def source(i, names):
        for n in names:
            consumed[i] += 1
            yield {'name': n}
    local = ['%04d' % n for n in range(0, 40, 2)]
    remote = ['%04d' % n for n in range(1, 40, 2)]
    got = merge_page([source(0, local), source(1, remote)], limit=10)
    assert [e['name'] for e in got] == ['%04d' % n for n in range(10)]
    # the last entry came from the remote: it was not read further; the
    # local source holds the one head that decided the order
    assert consumed == [6, 5]
    # a name in both sources is one entry, both sources advance past it
    consumed[:] = [0, 0]
    got = merge_page([source(0, ['a', 'b', 'c']), source(1, ['b', 'c'])],
                     limit=2)
    assert [e['name'] for e in got] == ['a', 'b']
    assert consumed == [2, 1]
    consumed[:] = [0, 0]
    got = merge_page([source(0, ['a', 'b', 'c']), source(1, ['b', 'd'])],
                     limit=3)
    assert [e['name'] for e in got] == ['a', 'b', 'c']
    assert consumed == [3, 2]


@given(st.floats(min_value=-1e10, max_value=2.5e11, allow_nan=False))
def test_swift_last_modified_like_datetime(t):
    from datetime import datetime, timezone
    want = datetime.fromtimestamp(t, tz=timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%S.%f')
    assert listing.swift_last_modified(t) == want


def test_subdirs_merged_and_deduplicated():
    local = [{'subdir': 'a/'}, {'name': 'b'}]
    remote = [{'name': 'a/x'}, {'name': 'a/y'}, {'name': 'c/z'}]
    got = merge_page([local, remote], delimiter='/')
    assert got == [{'subdir': 'a/'}, {'name': 'b'}, {'subdir': 'c/'}]
    got = merge_page([local, remote], delimiter='/', marker='a/')
    assert got == [{'name': 'b'}, {'subdir': 'c/'}]
    got = merge_page([local[::-1], remote[::-1]], delimiter='/',
                     reverse=True)
    assert got == [{'subdir': 'c/'}, {'name': 'b'}, {'subdir': 'a/'}]


def test_from_query():
    p = ListingParams.from_query({'prefix': 'p', 'limit': '5',
                                  'reverse': 'on', 'marker': 'x'})
    assert (p.prefix, p.limit, p.reverse, p.bounds) == ('p', 5, True,
                                                        ('', 'x'))
    p = ListingParams.from_query({'path': 'dir'})
    assert (p.prefix, p.delimiter, p.limit) == ('dir/', '/', 10000)
    for bad in ('-1', '10001', 'x'):
        try:
            ListingParams.from_query({'limit': bad})
        except ValueError:
            pass
        else:
            raise AssertionError(bad)


def _swift_formats(entries, container):
    from swift.common.middleware import listing_formats as lf
    return (json.dumps(entries).encode('ascii'),
            lf.container_to_xml([dict(e) for e in entries], container),
            lf.listing_to_text(entries))


def test_render_like_swift():
    entries = [
        listing.object_entry('caf\u00e9 \U0001F600', 'd41d8cd98f00b204e9800'
                             '998ecf8427e', 0, 'text/plain', 1700000000.5),
        {'subdir': 'd\u4e2d/'},
        listing.object_entry('z<&>', 'x', 3, '', '2026-01-01T00:00:00.000000'),
    ]
    js, xml, plain = _swift_formats(entries, 'c\u00e9')
    assert listing.render_json(entries) == js
    assert listing.render_xml(entries, 'c\u00e9') == xml
    assert listing.render_plain(entries) == plain
    assert entries[0]['last_modified'] == '2023-11-14T22:13:20.500000'
    body, ctype = listing.render(entries, 'text/xml', 'c')
    assert ctype == 'text/xml; charset=utf-8'
    body, ctype = listing.render(entries, 'text/plain', 'c')
    assert body.decode('utf-8').splitlines()[1] == 'd\u4e2d/'


def test_render_content_location():
    e = listing.object_entry('o', 'h', 1, 'a/b', 0, content_location='s3:bkt')
    assert json.loads(listing.render_json([e]))[0]['content_location'] == \
        's3:bkt'
    doc = ET.fromstring(listing.render_xml([e], 'c'))
    obj = doc.find('object')
    assert [c.tag for c in obj] == ['name', 'hash', 'bytes', 'content_type',
                                   'last_modified', 'content_location']
    assert obj.find('content_location').text == 's3:bkt'


# -- the model is Swift's: check it against the container broker -----------

broker_names_st = st.lists(names_st, max_size=15, unique=True)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(broker_names_st, params_st(allow_path=True))
def test_model_matches_swift_broker(names, p):
    from swift.container.backend import ContainerBroker
    with tempfile.TemporaryDirectory() as tmp:
        broker = ContainerBroker(os.path.join(tmp, 'c.db'), account='a',
                                 container='c')
        broker.initialize('1700000000.00000', 0)
        for n in names:
            broker.put_object(n, '1700000001.00000', 0, 'text/plain',
                              'd41d8cd98f00b204e9800998ecf8427e')
        rows = broker.list_objects_iter(
            p.limit, p.marker, p.end_marker, p.prefix, p.delimiter,
            path=p.path, reverse=p.reverse)
    got = []
    for row in rows:
        name = row[0]
        # the broker returns subdirs as rows with created_at '0'
        if row[1] == '0' and row[3] is None:
            got.append({'subdir': name})
        else:
            got.append({'name': name})
    assert keys(got) == keys(model(names, p))
