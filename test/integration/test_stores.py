"""The remote stores against real servers: SeaweedFS, Swift's s3api, a
second Swift cluster (c2) and the local cluster (internal client)."""

import tracemalloc
import types
import uuid

import pytest
from swift.common.utils import set_swift_dir

from swiftsync import config
from swiftsync.stores import NotFound, open_store
from swiftsync.stores.local import LocalSwift, make_internal_client
from test.integration.clients import swift

MiB = 1024 * 1024
NAMES = ['a', 'b/1', 'b/2', 'b/3/x', 'c', 'ü/1', 'ü/2']


@pytest.fixture(scope='module')
def cfg(env):
    return config.load(env['clusters'][0]['swiftsync_conf'])


def make_store(cfg, env, kind, container):
    if kind == 'local':
        c1 = env['clusters'][0]
        set_swift_dir(c1['swift_dir'])
        swift(c1).put_container(container)
        return LocalSwift(make_internal_client(c1['internal_client_conf']),
                          'AUTH_test', container)
    mapping = types.SimpleNamespace(remote_container=container + '-r')
    botocore_reads = kind == 's3-botocore'
    store = open_store(cfg.target('s3' if botocore_reads else kind),
                       'AUTH_test', container, mapping)
    if botocore_reads:
        store.wire = None  # GET, HEAD and LIST through botocore's client
    if store.kind == 'swift':
        # keep the dev clusters' autosync filter out of the way
        store._simple('PUT', store.container,
                      headers={'X-Container-Placement': 'c2'})
    return store


@pytest.mark.parametrize('kind', ['s3', 's3api', 's3-botocore', 'c2',
                                  'local'])
def test_listing(cfg, env, kind):
    store = make_store(cfg, env, kind, 'ls-' + uuid.uuid4().hex[:8])
    for n in NAMES:
        store.put(n, iter([n.encode('utf-8')]), len(n.encode('utf-8')),
                  'text/plain', {})

    def names(**kw):
        return [e['subdir'] if isinstance(e, dict) else e.name
                for e in store.list(**kw)]
    assert names() == NAMES
    assert names(prefix='b/') == ['b/1', 'b/2', 'b/3/x']
    assert names(delimiter='/') == ['a', 'b/', 'c', 'ü/']
    assert names(prefix='b/', delimiter='/') == ['b/1', 'b/2', 'b/3/']
    assert names(marker='b/2') == ['b/3/x', 'c', 'ü/1', 'ü/2']
    assert names(end_marker='c') == ['a', 'b/1', 'b/2', 'b/3/x']
    assert names(limit=2) == ['a', 'b/1']
    assert names(reverse=True) == NAMES[::-1]
    assert names(reverse=True, marker='c', limit=2) == ['b/3/x', 'b/2']
    entry = next(iter(store.list(prefix='ü/1')))
    assert entry.size == len('ü/1'.encode('utf-8'))
    assert entry.extra['listing']


@pytest.mark.parametrize('kind', ['s3', 's3api', 's3-botocore', 'c2',
                                  'local'])
def test_get_range_conditional_and_missing(cfg, env, kind):
    store = make_store(cfg, env, kind, 'get-' + uuid.uuid4().hex[:8])
    info = store.put('o', iter([b'0123', b'456789']), 10, 'a/b', {'k': 'v'})
    got, status, _, body = store.get('o', range_header='bytes=2-5')
    assert status == 206 and b''.join(body) == b'2345'
    assert got.size == 10
    _, status, _, body = store.get('o', if_headers={
        'If-None-Match': info.etag})
    assert status == 304
    list(body)
    with pytest.raises(NotFound):
        store.get('missing')
    assert store.head('missing') is None
    assert store.delete('missing') is False
    assert store.delete('o') is True


@pytest.mark.parametrize('kind', ['s3', 's3api'])
def test_reads_need_no_botocore_client(cfg, env, kind):
    """An S3 target with an endpoint reads on the lean path (stores.s3wire):
    the same answers as botocore's, and no botocore client is built."""
    name = 'wire-' + uuid.uuid4().hex[:8]
    writer = make_store(cfg, env, kind, name)
    meta = {'plain': 'v', 'ünï': 'çödé ✓', 'spaces': ' a b '}
    # (SeaweedFS stores 'x//y' as 'x/y': no double slash here)
    names = ['k', 'a b+c%d~e', 'ü/é', 'x y/z', 'dir/', 'dots/..x']
    for n in names:
        writer.put(n, iter([b'data']), 4, 'text/x-test', meta)
    reader = make_store(cfg, env, kind, name)
    assert reader.wire is not None
    by_botocore = make_store(cfg, env, 's3-botocore' if kind == 's3'
                             else kind, name)
    by_botocore.wire = None
    for n in names:
        info = reader.head(n)
        same = by_botocore.head(n)
        assert (info.name, info.size, info.etag, info.content_type,
                info.metadata, info.content_md5, info.last_modified) == (
            same.name, same.size, same.etag, same.content_type,
            same.metadata, same.content_md5, same.last_modified)
        assert info.metadata == meta
        got, status, headers, body = reader.get(n)
        assert (status, b''.join(body), got.etag) == (200, b'data',
                                                      info.etag)
        assert headers['content-length'] == '4'
    assert [e.name for e in reader.list()] == sorted(names)
    assert [e.name for e in reader.list()] == [
        e.name for e in by_botocore.list()]
    assert reader._client is None
    with pytest.raises(NotFound):
        reader.get('nope')


@pytest.mark.parametrize('kind', ['s3', 'c2'])
def test_uploads_stream(cfg, env, kind):
    """64 MiB go up without the process holding more than a few MiB."""
    store = make_store(cfg, env, kind, 'mem-' + uuid.uuid4().hex[:8])
    size = 64 * MiB
    chunk = b'z' * (64 * 1024)

    def body():
        for _ in range(size // len(chunk)):
            yield chunk
    tracemalloc.start()
    try:
        info = store.put('big', body(), size, 'application/octet-stream', {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == size
    assert peak < 8 * MiB, peak
    assert store.head('big').size == size
    store.delete('big')


EVENTLET_SCRIPT = r'''
import sys
import eventlet
eventlet.monkey_patch()
from swiftsync import config
from swiftsync.stores import open_store
from swiftsync.transfer import Transfer, Outcome
cfg = config.load(sys.argv[1])
container = sys.argv[2]
src = open_store(cfg.target('s3'), 'AUTH_test', container)
dst = open_store(cfg.target('c2'), 'AUTH_test', container + '-r')
dst._simple('PUT', dst.container, headers={'X-Container-Placement': 'c2'})
pool = eventlet.GreenPool(8)
names = ['g%02d' % i for i in range(32)]
list(pool.imap(lambda n: src.put(n, iter([n.encode()] * 1000), 3000,
                                 'text/plain', {'n': n}), names))
xfer = Transfer(src, dst)
print(sorted(set(o.value for o in pool.imap(xfer.sync, names))))
print(sorted(set(o.value for o in pool.imap(xfer.sync, names))))
'''


def test_green_threads_under_eventlet(cfg, env, tmp_path):
    """The daemon's setting: monkey-patched eventlet, a GreenPool of
    copies S3 -> Swift sharing one client and one auth session."""
    import subprocess
    import sys
    script = tmp_path / 'green.py'
    script.write_text(EVENTLET_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), env['clusters'][0]['swiftsync_conf'],
         'green-' + uuid.uuid4().hex[:8]],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split('\n')[:2] == ["['copied']", "['skipped']"]


@pytest.mark.parametrize('kind', ['s3', 's3api'])
def test_abort_leftover_uploads(cfg, env, kind):
    """What a killed process leaves open is found and aborted."""
    store = make_store(cfg, env, kind, 'mpu-' + uuid.uuid4().hex[:8])
    for name in ('a', 'b'):
        store.client.create_multipart_upload(Bucket=store.bucket,
                                             Key=store.key(name))
    assert sorted(k for k, _ in store.list_uploads()) == [
        store.key('a'), store.key('b')]
    assert store.abort_uploads('a') == 1
    assert [k for k, _ in store.list_uploads()] == [store.key('b')]
    assert store.abort_uploads() == 1
    assert store.list_uploads() == []
