from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings, strategies as st

from swiftsync.mirror import job
from swiftsync.stores.base import ObjectInfo


class ListOnly(object):
    """A store that lists like S3: sorted names after a marker, pages."""
    kind = 's3'

    def __init__(self, names):
        self.names = sorted(names)
        self.calls = 0

    def list(self, prefix='', marker='', end_marker='', **kw):
        self.calls += 1
        for name in self.names:
            if end_marker and name >= end_marker:
                return
            if name.startswith(prefix) and name > marker:
                yield ObjectInfo(name=name, size=0, etag='')


names = st.lists(st.text(alphabet='ab/é\u20ac', min_size=1, max_size=6),
                 unique=True, max_size=60)


@settings(max_examples=200, deadline=None)
@given(names, names, st.sampled_from(['', 'p/']), st.integers(1, 7))
def test_partitioned_listing_is_the_plain_listing(ours, other, prefix, page):
    store = ListOnly([prefix + n for n in ours] + ['zz-outside'])
    known = [(n, None) for n in sorted(other)]
    old, job.S3_PAGE = job.S3_PAGE, page
    try:
        with ThreadPoolExecutor(4) as pool:
            src, dst = job.listed_ahead(iter(known), (store, prefix, pool))
            got = [rel for rel, _ in dst]
            assert list(src) == known
    finally:
        job.S3_PAGE = old
    want = sorted(ours) if prefix else sorted(ours + ['zz-outside'])
    assert got == want


def test_listed_ahead_raises_the_listing_error_in_the_caller():
    def failing():
        yield 'a', None
        raise RuntimeError('listing failed')
    src, dst = job.listed_ahead(failing())
    assert dst is None
    with pytest.raises(RuntimeError, match='listing failed'):
        list(src)


def test_join_listings_pairs_names():
    a = iter([('a', 1), ('c', 3)])
    b = iter([('b', 2), ('c', 4)])
    assert list(job.join_listings(a, b)) == [
        ('a', 1, None), ('b', None, 2), ('c', 3, 4)]
