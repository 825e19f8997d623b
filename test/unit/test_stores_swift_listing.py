"""A Swift listing asks for its next page while the caller goes through
the current one, and never for a page the caller's limit excludes."""

import json
import threading

import pytest

from swiftsync.stores import StoreError, swift


class PagedStore(swift.SwiftProtocolStore):
    """Serves NAMES in pages, recording each request's query."""

    NAMES = ['o%02d' % i for i in range(7)]

    def __init__(self, fail_after=None):
        super().__init__('c')
        self.queries = []
        self.asked = threading.Condition()
        self.fail_after = fail_after

    def _simple(self, method, container, obj=None, headers=None, query=None,
                ok=(2,), body=None, size=None):
        with self.asked:
            self.queries.append(dict(query))
            self.asked.notify_all()
        if self.fail_after is not None and \
                len(self.queries) > self.fail_after:
            raise StoreError('GET c: 503 Service Unavailable', 503)
        names = [n for n in self.NAMES if n > query.get('marker', '')]
        rows = [{'name': n, 'hash': 'd41d8cd98f00b204e9800998ecf8427e',
                 'bytes': 0, 'content_type': 'x/y',
                 'last_modified': '2026-11-22T00:00:00.000000'}
                for n in names[:int(query['limit'])]]
        return 200, {}, json.dumps(rows).encode()

    def wait_for(self, count):
        with self.asked:
            assert self.asked.wait_for(lambda: len(self.queries) >= count,
                                       timeout=5), self.queries


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(swift, 'LISTING_PAGE', 3)


def test_next_page_asked_for_before_this_one_is_read():
    store = PagedStore()
    listing = store.list()
    assert next(listing).name == 'o00'
    store.wait_for(2)  # the caller holds one entry of the first page
    assert store.queries[1]['marker'] == 'o02'
    assert [e.name for e in listing] == PagedStore.NAMES[1:]
    assert [q.get('marker') for q in store.queries] == [None, 'o02', 'o05']


def test_limit_bounds_the_pages_asked_for():
    store = PagedStore()
    assert [e.name for e in store.list(limit=4)] == PagedStore.NAMES[:4]
    assert [q['limit'] for q in store.queries] == ['3', '1']
    store = PagedStore()
    assert [e.name for e in store.list(limit=3)] == PagedStore.NAMES[:3]
    assert len(store.queries) == 1


def test_a_failing_next_page_fails_the_listing_where_it_is_reached():
    store = PagedStore(fail_after=1)
    listing = store.list()
    assert [next(listing).name for _ in range(3)] == PagedStore.NAMES[:3]
    with pytest.raises(StoreError):
        next(listing)
