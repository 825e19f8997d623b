"""The pure part of carrying versions (swiftsync.versions)."""

from swiftsync import versions
from swiftsync.versions import Version


def _v(name, ts, marker=False):
    return Version(name, '%016.05f' % ts, marker)


def _ids(vs):
    return [(v.name, v.version_id, v.is_marker) for v in vs]


def test_missing_walks_both_listings_in_swift_order():
    src = [_v('a', 3), _v('a', 2), _v('a', 1), _v('a/b', 5), _v('b', 4, True)]
    src.sort(key=lambda v: v.key)
    dest = [_v('a', 2), _v('b', 4, True), _v('c', 9)]
    dest.sort(key=lambda v: v.key)
    assert _ids(versions.missing(src, dest)) == _ids(
        [_v('a', 3), _v('a', 1), _v('a/b', 5)])


def test_oldest_first_per_name():
    listed = [_v('a', 3), _v('a', 1), _v('b', 7, True), _v('b', 6)]
    assert _ids(versions.oldest_first(listed)) == _ids(
        [_v('a', 1), _v('a', 3), _v('b', 6), _v('b', 7, True)])


def test_listings_parse_to_the_same_versions():
    hidden = [{'name': _v('ü', 2).hidden_name,
               'content_type': 'application/x-deleted;'
                               'swift_versions_deleted=1'},
              {'name': _v('ü', 1).hidden_name, 'content_type': 'text/plain'}]
    user = [{'name': 'ü', 'version_id': '%016.05f' % 2,
             'content_type': 'application/x-deleted;'
                             'swift_versions_deleted=1'},
            {'name': 'ü', 'version_id': '%016.05f' % 1,
             'content_type': 'text/plain'},
            {'name': 'ü', 'version_id': 'null', 'content_type': 'text/plain'}]
    a = list(versions.from_hidden_listing(hidden))
    b = list(versions.from_versions_listing(user))
    assert _ids(a) == _ids(b) == [('ü', '%016.05f' % 2, True),
                                  ('ü', '%016.05f' % 1, False)]
    assert list(versions.missing(a, b)) == []
