"""Pure logic of the transfer engine: part planning, comparisons, retries,
and the engine itself over in-memory stores."""

import hashlib

import pytest

from swiftsync import transfer
from swiftsync.stores.base import (
    META_SOURCE_ETAG, NotFound, ObjectInfo, PreconditionFailed,
    RemoteStore, SourceChanged, StoreError)
from swiftsync.transfer import (
    Outcome, Piece, PlanError, Transfer, plan_parts, same_content, slo_etag)

MiB = 1024 * 1024
GiB = 1024 * MiB
S3_RULES = dict(min_part=5 * MiB, max_part=5 * GiB, max_parts=10000)


def pieces(*sizes, md5=True, offset=0):
    return [Piece(None, 's%d' % i, offset, n, 'e%d' % i,
                  ('%032x' % i) if md5 else None, None)
            for i, n in enumerate(sizes)]


def check(parts, ps):
    """Parts cover the pieces exactly, in order."""
    pos = [(i, 0) for i in range(len(ps))]
    flat = [s for p in parts for s in p.slices]
    assert sum(p.size for p in parts) == sum(x.length for x in ps)
    for p in parts:
        assert p.size == sum(n for _, _, n in p.slices)
    # slices walk the pieces in order without gaps
    expect = 0
    cur = {}
    for i, off, n in flat:
        assert off == cur.get(i, 0)
        cur[i] = off + n
        assert i >= expect
        expect = i
    assert all(cur.get(i, 0) == x.length for i, x in enumerate(ps)
               if x.length)
    del pos


def test_one_part_per_segment_when_the_rules_hold():
    ps = pieces(5 * MiB, 5 * MiB, 5 * MiB)
    parts = plan_parts(ps, 100 * MiB, **S3_RULES)
    assert [p.size for p in parts] == [5 * MiB] * 3
    assert [p.md5 for p in parts] == [x.md5 for x in ps]
    check(parts, ps)


def test_small_last_segment_is_fine():
    parts = plan_parts(pieces(6 * MiB, 1), 100 * MiB, **S3_RULES)
    assert [p.size for p in parts] == [6 * MiB, 1]


@pytest.mark.parametrize('sizes', [
    (1 * MiB, 5 * MiB, 5 * MiB),          # small non-last segment
    (3 * MiB, 3 * MiB, 3 * MiB, 3 * MiB),
    (7, 7, 7)])
def test_small_segments_are_rechunked(sizes):
    ps = pieces(*sizes)
    parts = plan_parts(ps, 5 * MiB, **S3_RULES)
    assert all(p.size == 5 * MiB for p in parts[:-1])
    assert all(p.md5 is None for p in parts) or len(parts) == 1
    check(parts, ps)


def test_ranged_segments_are_rechunked():
    ps = pieces(6 * MiB, 6 * MiB)
    ps[0] = ps[0]._replace(md5=None, offset=10)   # a ranged segment
    parts = plan_parts(ps, 5 * MiB, **S3_RULES)
    assert [p.size for p in parts] == [5 * MiB, 5 * MiB, 2 * MiB]
    check(parts, ps)


def test_segments_over_5gib_are_split():
    ps = pieces(6 * GiB, 1 * GiB)
    parts = plan_parts(ps, 1 * GiB, **S3_RULES)
    assert [p.size for p in parts] == [1 * GiB] * 7
    check(parts, ps)


def test_more_than_10000_segments_grow_the_part_size():
    ps = pieces(*([5 * MiB] * 10001))
    parts = plan_parts(ps, 5 * MiB, **S3_RULES)
    assert len(parts) <= 10000
    assert all(p.size >= 5 * MiB for p in parts[:-1])
    check(parts, ps)


def test_swift_destination_takes_any_segment_size():
    ps = pieces(1, 2, 3)
    parts = plan_parts(ps, 5 * MiB, 1, 5 * GiB, 1000)
    assert [p.size for p in parts] == [1, 2, 3]


def test_plain_big_object_is_cut_in_segment_size_parts():
    ps = [Piece(None, 'o', 0, 12 * MiB, 'etag', None, None)]
    parts = plan_parts(ps, 5 * MiB, **S3_RULES)
    assert [p.size for p in parts] == [5 * MiB, 5 * MiB, 2 * MiB]
    assert parts[1].slices == [(0, 5 * MiB, 5 * MiB)]


def test_too_large_to_plan():
    with pytest.raises(PlanError):
        plan_parts(pieces(5 * GiB, md5=False) * 10001, 5 * MiB, **S3_RULES)


def test_slo_etag_is_swifts():
    segs = [{'hash': 'a' * 32}, {'hash': 'b' * 32, 'range': '0-9'}]
    expect = hashlib.md5(('a' * 32 + 'b' * 32 + ':0-9;').encode()).hexdigest()
    assert slo_etag(segs) == expect


def info(**kw):
    d = dict(name='o', size=3, etag='e' * 32, content_md5='e' * 32)
    d.update(kw)
    return ObjectInfo(**d)


def test_same_content():
    assert same_content(info(), info())
    assert not same_content(info(), info(size=4))
    assert not same_content(info(), info(etag='f' * 32, content_md5='f' * 32))
    # MPU on S3: the source etag recorded at upload decides
    slo = info(etag='slo', content_md5=None, is_large=True)
    mpu = info(etag='x-3', content_md5=None, is_large=True,
               extra={'internal': {META_SOURCE_ETAG: 'slo'}})
    assert same_content(slo, mpu)
    assert not same_content(info(etag='slo2', content_md5=None), mpu)


def test_with_retries_backs_off_on_retryable_errors(monkeypatch):
    sleeps = []
    monkeypatch.setattr(transfer, 'sleep', sleeps.append)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise StoreError('busy', 503)
        return 'ok'
    assert transfer.with_retries(flaky, retries=3, backoff=0.5) == 'ok'
    assert sleeps == [0.5, 1.0]
    with pytest.raises(StoreError):
        transfer.with_retries(lambda: (_ for _ in ()).throw(
            StoreError('denied', 403)), retries=3)
    assert len(sleeps) == 2   # no retry on 403
    with pytest.raises(SourceChanged):   # left to Transfer.sync
        transfer.with_retries(lambda: (_ for _ in ()).throw(
            PreconditionFailed('x')), retries=3)


class MemStore(RemoteStore):
    """An in-memory store for the engine's own logic."""
    kind = 's3'
    min_part_size = 4

    def __init__(self):
        self.objects = {}
        self.calls = []

    def head(self, name):
        if name not in self.objects:
            return None
        data, ct, meta, large = self.objects[name]
        md5 = hashlib.md5(data).hexdigest()
        return ObjectInfo(name, len(data), md5 + ('-2' if large else ''),
                          0.0, ct, dict(meta), None if large else md5,
                          large, {'internal': dict(large or {})})

    def get(self, name, range_header=None, if_headers=None):
        if name not in self.objects:
            raise NotFound(name)
        info = self.head(name)
        if if_headers and if_headers.get('If-Match') not in (None,
                                                             info.etag):
            raise PreconditionFailed(name)
        data = self.objects[name][0]
        if range_header:
            a, b = range_header[6:].split('-')
            data = data[int(a):int(b) + 1]
        return info, 200, {}, iter([data[i:i + 2]
                                    for i in range(0, len(data), 2)])

    def put(self, name, body_iter, size, content_type, metadata, etag=None):
        self.calls.append('put')
        data = b''.join(body_iter)
        from swiftsync.stores.base import split_metadata
        user, _ = split_metadata(metadata)
        self.objects[name] = (data, content_type, user, None)

    def put_large(self, name, parts, size, content_type, metadata,
                  manifest=None):
        self.calls.append('put_large')
        from swiftsync.stores.base import split_metadata
        data = b''
        for p in parts:
            chunk = b''.join(p.chunks)
            assert len(chunk) == p.size
            data += chunk
        user, internal = split_metadata(metadata)
        self.objects[name] = (data, content_type, user, internal)

    def post(self, name, content_type, metadata):
        self.calls.append('post')
        from swiftsync.stores.base import split_metadata
        data, _, _, large = self.objects[name]
        user, internal = split_metadata(metadata)
        self.objects[name] = (data, content_type, user, internal or large)

    def delete(self, name):
        return self.objects.pop(name, None) is not None


def test_engine_copy_skip_post_delete():
    src, dst = MemStore(), MemStore()
    src.objects['o'] = (b'hello', 'text/plain', {'a': '1'}, None)
    x = Transfer(src, dst, segment_size=4, backoff=0)
    assert x.sync('o') == Outcome.COPIED        # 5 bytes > 4: parts
    assert dst.objects['o'][0] == b'hello'
    assert x.sync('o') == Outcome.SKIPPED
    src.objects['o'] = (b'hello', 'text/plain', {'a': '2'}, None)
    assert x.sync('o') == Outcome.METADATA
    assert dst.calls == ['put_large', 'post']
    assert x.sync('o') == Outcome.SKIPPED
    assert x.sync('gone') == Outcome.MISSING
    assert x.delete('o') == Outcome.DELETED
    assert x.delete('o') == Outcome.MISSING


def test_engine_metadata_filter_and_small_objects():
    src, dst = MemStore(), MemStore()
    src.objects['o'] = (b'hi', 'text/plain', {'a': '1', 'b': '2'}, None)
    x = Transfer(src, dst, metadata_filter=['b'])
    assert x.sync('o', dst_name='p') == Outcome.COPIED
    assert dst.objects['p'][2] == {'b': '2'}
    assert dst.calls == ['put']
    assert x.sync('o', dst_name='p') == Outcome.SKIPPED


def test_engine_retries_a_source_that_changed():
    src, dst = MemStore(), MemStore()
    src.objects['o'] = (b'old', 'text/plain', {}, None)
    stale = src.head('o')
    src.objects['o'] = (b'new!', 'text/plain', {}, None)
    x = Transfer(src, dst, backoff=0)
    assert x.sync('o', src_info=stale) == Outcome.COPIED
    assert dst.objects['o'][0] == b'new!'


def test_engine_heads_a_listing_entry_before_trusting_it():
    src, dst = MemStore(), MemStore()
    src.objects['o'] = (b'hi', 'text/plain', {'a': '1'}, None)
    x = Transfer(src, dst)
    assert x.sync('o') == Outcome.COPIED
    listed = ObjectInfo('o', 2, hashlib.md5(b'hi').hexdigest(),
                        extra={'listing': True})
    # no metadata, no content-type in a listing: not a metadata change
    assert x.sync('o', src_info=listed) == Outcome.SKIPPED
    assert dst.calls == ['put']


def test_a_plain_object_above_part_size_is_cut():
    from swiftsync.transfer import plan_parts
    MiB = 1024 * 1024

    class Piece(object):
        def __init__(self, length):
            self.length, self.md5, self.data, self.offset = (
                length, 'a' * 32, None, 0)
    parts = plan_parts([Piece(12 * MiB)], 5 * MiB, 1, 5 * 1024 * MiB, 1000)
    assert [p.size for p in parts] == [5 * MiB, 5 * MiB, 2 * MiB]
    # an SLO's segments stay one part each, whatever their size
    parts = plan_parts([Piece(64 * MiB), Piece(64 * MiB)], 5 * MiB,
                       5 * MiB, 5 * 1024 * MiB, 10000)
    assert [p.size for p in parts] == [64 * MiB, 64 * MiB]
