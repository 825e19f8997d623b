"""Pure logic of the stores: S3 key layout and metadata on the wire."""

import email.header
import hashlib

import pytest

from swiftsync.stores import base, s3
from swiftsync.stores.swift import listing_info, swift_info


def swift_s3_sync_prefix(account, container):
    # swift-s3-sync's SyncS3.get_prefix, as it is written there (py2:
    # hex(long(md5, 16) % 16**6)[2:-1] strips "0x" and "L")
    md5_hash = hashlib.md5(('%s/%s' % (account, container)).encode(
        'utf-8')).hexdigest()
    return hex(int(md5_hash, 16) % 16 ** 6)[2:]


@pytest.mark.parametrize('account,container', [
    ('AUTH_test', 'c'), ('AUTH_test', 'photos'), ('AUTH_ü', 'ñ ☃'),
    ('AUTH_a', 'b')])
def test_hashed_prefix_matches_swift_s3_sync(account, container):
    assert s3.hashed_prefix(account, container) == \
        swift_s3_sync_prefix(account, container)


def test_hashed_prefix_is_not_zero_padded():
    # find a container whose prefix is shorter than 6 hex digits
    for i in range(5000):
        p = s3.hashed_prefix('AUTH_test', 'c%d' % i)
        if len(p) < 6:
            assert not p.startswith('0') or p == '0'
            return
    pytest.fail('no short prefix found')


def test_key_layouts():
    h = s3.hashed_prefix('AUTH_a', 'c')
    assert s3.key_base('hashed', '', 'AUTH_a', 'c') == '%s/AUTH_a/c/' % h
    assert s3.key_base('hashed', 'pre/', 'AUTH_a', 'c') == \
        'pre/%s/AUTH_a/c/' % h
    assert s3.key_base('native', '', 'AUTH_a', 'c') == ''
    assert s3.key_base('native', 'x/', 'AUTH_a', 'c') == 'x/'
    sha = hashlib.sha256('o/ü'.encode('utf-8')).hexdigest()
    assert s3.manifest_key('hashed', '', 'AUTH_a', 'c', 'o/ü') == \
        '%s/.manifests/AUTH_a/c/%s.swift_slo_manifest' % (h, sha)
    assert s3.manifest_key('native', 'x/', 'AUTH_a', 'c', 'o/ü') == \
        'x/.swiftsync-manifests/%s.swift_slo_manifest' % sha


def test_trailing_slash_names_are_kept_apart():
    store = s3.S3Store(object(), 'b', 'AUTH_a', 'c', layout='native')
    assert store.key('dir/') == 'dir/' + s3.TRAILING_SLASH
    assert store.name_of(store.key('dir/')) == 'dir/'
    assert store.name_of(store.key('dir/x')) == 'dir/x'
    assert store.name_fits('x' * (1024 - len(s3.TRAILING_SLASH) - 1) + '/')
    assert not store.name_fits('x' * (1024 - len(s3.TRAILING_SLASH)) + '/')


def test_trailing_slash_keep_uses_the_name_as_it_is():
    # the key swift-s3-sync writes for 'dir/' (AWS, Swift s3api)
    store = s3.S3Store(object(), 'b', 'AUTH_a', 'c', trailing_slash='keep')
    h = s3.hashed_prefix('AUTH_a', 'c')
    assert store.key('dir/') == '%s/AUTH_a/c/dir/' % h
    assert store.name_of(store.key('dir/')) == 'dir/'
    # no name is read as a suffixed one: the key is the name
    odd = 'dir/' + s3.TRAILING_SLASH
    assert store.name_of(store.key(odd)) == odd
    assert store.name_fits('x' * (1024 - len(store.base) - 1) + '/')
    assert not store.name_fits('x' * (1024 - len(store.base)) + '/')
    with pytest.raises(ValueError):
        s3.S3Store(object(), 'b', trailing_slash='strip')


def test_open_store_follows_the_target(monkeypatch):
    from swiftsync import config, stores
    monkeypatch.setattr(stores, 's3_client_for', lambda target: object())
    for endpoint, keys in ((None, 'keep'), ('http://127.0.0.1:1', 'suffix')):
        target = config.S3Target(name='t', bucket='b', access_key='a',
                                 secret_key='s', endpoint=endpoint)
        assert target.trailing_slash == keys
        store = stores.open_store(target, 'AUTH_a', 'c')
        assert store.trailing_slash == keys
        target = config.S3Target(name='t', bucket='b', access_key='a',
                                 secret_key='s', endpoint=endpoint,
                                 trailing_slash='keep')
        assert stores.open_store(target, 'AUTH_a', 'c').key('d/').endswith(
            '/c/d/')


@pytest.mark.parametrize('value', [
    'plain', 'välue ☃', ' leading', 'trailing ', '=?looks encoded?=',
    'tab\there', 'new\nline', '', 'x' * 300, '日本語' * 50])
def test_metadata_values_round_trip_as_ascii(value):
    wire = s3.encode_meta_value(value)
    assert wire.isascii() and wire.isprintable()
    assert wire == wire.strip()
    assert s3.decode_meta_value(wire) == value
    if value == 'plain':
        assert wire == 'plain'


def test_metadata_values_written_by_swift_s3_sync_decode():
    # swift-s3-sync writes email.header.Header(value, 'UTF-8').encode()
    value = 'Ünïcödé ' * 20
    wire = email.header.Header(value, 'UTF-8').encode()
    assert s3.decode_meta_value(wire) == value


@pytest.mark.parametrize('name', ['color', 'x-y_z.1', 'Ünï', 'has space',
                                  'u8--sneaky', 'UPPER'])
def test_metadata_names_round_trip(name):
    wire = s3.encode_meta_name(name)
    assert wire.isascii() and ' ' not in wire
    assert s3.decode_meta_name(wire) == name.lower()


def test_split_metadata_keeps_internal_apart():
    user, internal = base.split_metadata({
        'Color': 'x', 'swiftsync-md5': 'y'})
    assert user == {'color': 'x'}
    assert internal == {'swiftsync-md5': 'y'}


def test_swift_info_slo_without_slo_middleware():
    info = swift_info('o', {
        'content-length': '123', 'etag': 'manifestmd5',
        'x-static-large-object': 'True',
        'x-object-sysmeta-slo-etag': 'sloetag',
        'x-object-sysmeta-slo-size': '15728640',
        'x-object-meta-color': 'blue', 'x-object-meta-swiftsync-md5': 'm',
        'x-timestamp': '1700000000.12345', 'content-type': 'a/b'})
    assert info.is_large and info.size == 15728640
    assert info.etag == 'sloetag'
    assert info.metadata == {'color': 'blue'}
    assert info.content_md5 == 'm'
    assert info.last_modified == 1700000000.12345


def test_swift_info_plain_and_listing():
    info = swift_info('o', {'content-length': '3',
                            'etag': '"%s"' % base.EMPTY_MD5,
                            'last-modified': 'Sat, 21 Nov 2026 19:35:34 GMT'})
    assert info.etag == base.EMPTY_MD5 and info.content_md5 == info.etag
    assert info.last_modified > 1.7e9
    row = listing_info({'name': 'n', 'bytes': 5, 'hash': 'h' * 32,
                        'content_type': 'text/plain;swift_bytes=10',
                        'last_modified': '2026-11-21T19:35:34.123450',
                        'slo_etag': '"abc"'})
    assert row.is_large and row.etag == 'abc'
    assert row.content_type == 'text/plain'
    assert row.extra['swift_bytes'] == 10


def test_hashing_iter_detects_short_and_long_bodies():
    it = base.HashingIter(iter([b'ab', b'c']), 4)
    with pytest.raises(base.SourceChanged):
        list(it)
    it = base.HashingIter(iter([b'ab', b'cde']), 4)
    with pytest.raises(base.SourceChanged):
        list(it)
    it = base.HashingIter(iter([b'ab', b'cd']), 4)
    assert b''.join(it) == b'abcd'
    assert it.hexdigest() == hashlib.md5(b'abcd').hexdigest()


def test_iter_reader():
    r = base.IterReader(iter([b'abc', b'', b'defg', b'h']), 8)
    assert len(r) == 8
    out = []
    while True:
        chunk = r.read(2)
        if not chunk:
            break
        assert 0 < len(chunk) <= 2
        out.append(chunk)
    assert b''.join(out) == b'abcdefgh'
    r = base.IterReader(iter([b'abc', b'defg']))
    assert r.read(1) == b'a'
    assert r.read() == b'bcdefg'


def test_store_errors_say_if_retryable():
    assert base.StoreError('x', 503).retryable
    assert base.StoreError('x', None).retryable
    assert not base.StoreError('x', 403).retryable
    assert not base.NotFound('x').retryable
    assert base.PreconditionFailed('x').retryable
    assert isinstance(base.PreconditionFailed('x'), base.SourceChanged)
    assert str(base.StoreError('boom', 500)) == 'boom (500)'


def test_fast_timestamp_parses_what_botocore_does():
    from botocore.utils import parse_timestamp
    from swiftsync.stores.botoclient import fast_timestamp
    for value in ('2026-11-21T20:00:00.000Z', '2026-11-21T20:00:00Z',
                  '2026-11-21T20:00:00.123456+00:00',
                  'Sat, 21 Nov 2026 20:00:00 GMT', '1795288926'):
        assert fast_timestamp(value) == parse_timestamp(value), value
        assert fast_timestamp(value).timestamp() == \
            parse_timestamp(value).timestamp()
