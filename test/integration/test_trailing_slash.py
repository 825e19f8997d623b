"""Object names ending in '/' on S3 (``trailing_slash`` of a
``[target:NAME]``), against the real SeaweedFS and Swift s3api servers.

Why the default depends on the server: SeaweedFS takes a key ending in '/'
for a directory (no content, no metadata), AWS and Swift's s3api hold it as
any other object. swift-s3-sync writes the name as it is, so adopting one of
its buckets needs ``trailing_slash = keep``.
"""

import dataclasses
import email.header
import hashlib
import os
import subprocess
import sys
import uuid

import pytest
import swiftclient

from swiftsync import config
from swiftsync.devcluster.derive import derive_conf
from swiftsync.stores import open_store
from swiftsync.stores.s3 import TRAILING_SLASH, hashed_prefix

from test.integration.clients import s3_client, swift

SWIFTSYNC = os.path.join(os.path.dirname(sys.executable), 'swiftsync')


@pytest.fixture(scope='module')
def c1(env):
    return env['clusters'][0]


@pytest.fixture(scope='module')
def cfg(c1):
    return config.load(c1['swiftsync_conf'])


def s3(env, kind):
    creds = env['s3_servers'][kind]
    return s3_client(creds), creds['bucket']


@pytest.mark.parametrize('kind,keeps', [('seaweedfs', False),
                                        ('s3api', True)])
def test_which_servers_hold_a_key_ending_in_slash(env, kind, keeps):
    """The evidence behind the defaults (doc/config.rst, trailing_slash)."""
    client, bucket = s3(env, kind)
    key = 'probe-%s/dir/' % uuid.uuid4().hex[:8]
    put = client.put_object(Bucket=bucket, Key=key, Body=b'hello',
                            Metadata={'color': 'blue'})
    # both answer the PUT with the md5 of the content sent
    assert put['ETag'].strip('"') == hashlib.md5(b'hello').hexdigest()
    head = client.head_object(Bucket=bucket, Key=key)
    body = client.get_object(Bucket=bucket, Key=key)['Body'].read()
    try:
        if keeps:
            assert (head['ContentLength'], head['Metadata'], body) == (
                5, {'color': 'blue'}, b'hello')
        else:
            # a directory: content and metadata are gone
            assert (head['ContentLength'], head['Metadata'], body) == (
                0, {}, b'')
    finally:
        client.delete_object(Bucket=bucket, Key=key)


def swift_s3_sync_layout(env, kind, account, container, objects):
    """Write ``objects`` ({name: (body, {meta})}) the way swift-s3-sync
    does: the hashed key, the name as it is, RFC 2047 metadata values."""
    client, bucket = s3(env, kind)
    base = '%s/%s/%s/' % (hashed_prefix(account, container), account,
                          container)
    for name, (body, meta) in objects.items():
        client.put_object(
            Bucket=bucket, Key=base + name, Body=body,
            ContentType='text/plain',
            Metadata={k: email.header.Header(v, 'UTF-8').encode()
                      for k, v in meta.items()})
    return base


OBJECTS = {
    'dir/': (b'a directory marker with content', {'color': 'bl\u00e9u'}),
    'dir/x': (b'x', {}),
    'top': (b'top', {'color': 'red'}),
    '\u00fc/': (b'', {}),
}


def test_swift_s3_sync_bucket_is_adopted_with_keep(env, c1, cfg):
    """A bucket swift-s3-sync wrote, unchanged (key 'dir/' as is), read
    through the store API with trailing_slash = keep; with suffix the
    object 'dir/' is not found."""
    container = 'adopt-' + uuid.uuid4().hex[:8]
    base = swift_s3_sync_layout(env, 's3api', c1['account'], container,
                                OBJECTS)
    target = cfg.target('s3api')
    assert target.endpoint and target.trailing_slash == 'suffix'
    keep = open_store(dataclasses.replace(target, trailing_slash='keep'),
                      c1['account'], container)
    listed = list(keep.list())
    assert [e.name for e in listed] == sorted(OBJECTS)
    assert [e.extra['key'] for e in listed] == [
        base + n for n in sorted(OBJECTS)]
    assert {e.name: e.size for e in listed} == {
        n: len(body) for n, (body, _) in OBJECTS.items()}
    assert [e.name if not isinstance(e, dict) else e['subdir']
            for e in keep.list(delimiter='/')] == [
        'dir/', 'top', '\u00fc/']
    assert [e.name for e in keep.list(prefix='dir/')] == ['dir/', 'dir/x']
    assert [e.name for e in keep.list(marker='dir/')] == [
        'dir/x', 'top', '\u00fc/']
    assert [e.name for e in keep.list(reverse=True, end_marker='dir/')] \
        == ['\u00fc/', 'top', 'dir/x']
    for name, (body, meta) in OBJECTS.items():
        info = keep.head(name)
        assert (info.name, info.size, info.metadata) == (
            name, len(body), meta)
        got, status, _, chunks = keep.get(name)
        assert (status, b''.join(chunks)) == (200, body)
    # the suffix form looks for dir/.swiftsync-trailing-slash: not adopted
    suffix = open_store(target, c1['account'], container)
    assert suffix.head('dir/') is None
    assert suffix.head('dir/x') is not None


def test_sync_daemon_writes_the_name_as_it_is_with_keep(env, c1, tmp_path):
    """``swiftsync sync`` with trailing_slash = keep on s3api writes the
    keys swift-s3-sync would (and suffix, SeaweedFS's default, keeps the
    content of 'dir/' by moving its key)."""
    conn = swift(c1)
    container = 'keep-' + uuid.uuid4().hex[:8]
    conn.put_container(container)
    for name, (body, meta) in OBJECTS.items():
        conn.put_object(container, name, body, content_type='text/plain',
                        headers={'X-Object-Meta-' + k: v
                                 for k, v in meta.items()})
    node = c1['nodes'][0]['swiftsync_conf']
    creds = env['s3_servers']['s3api']
    extra = (
        '[target:s3api-keep]\ntype = s3\nendpoint = %s\nbucket = %s\n'
        'region = %s\naccess_key = %s\nsecret_key = %s\n'
        'trailing_slash = keep\n\n'
        '[mapping:keep]\naccount = %s\ncontainer = %s\n'
        'target = s3api-keep\n' % (
            creds['endpoint'], creds['bucket'], creds['region'],
            creds['access_key'], creds['secret_key'], c1['account'],
            container))
    conf = derive_conf(node, tmp_path / 'keep.conf', extra)
    proc = subprocess.run([SWIFTSYNC, 'sync', conf, '--once', '-v'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client, bucket = s3(env, 's3api')
    base = '%s/%s/%s/' % (hashed_prefix(c1['account'], container),
                          c1['account'], container)
    keys = [o['Key'] for o in client.list_objects_v2(
        Bucket=bucket, Prefix=base).get('Contents', [])]
    assert keys == [base + n for n in sorted(OBJECTS)]
    assert not [k for k in keys if k.endswith(TRAILING_SLASH)]
    head = client.head_object(Bucket=bucket, Key=base + 'dir/')
    assert head['ContentLength'] == len(OBJECTS['dir/'][0])
    # a plain S3 reader (swift-s3-sync's own shunt reads keys this way)
    # gets the content back
    assert client.get_object(Bucket=bucket, Key=base + 'dir/')[
        'Body'].read() == OBJECTS['dir/'][0]
    try:
        conn.delete_container(container)
    except swiftclient.ClientException:
        pass


ORDER_NAMES = ['dir/', 'dir/ a', 'dir/-x', 'dir/.a', 'dir/a', 'dir/b/',
               'dir/b/-c', 'dir-', 'e', u'\u00e9/', u'\u00e9/!']


def test_suffix_listings_keep_swifts_order(env, c1, cfg):
    """'dir/' is the key 'dir/.swiftsync-trailing-slash', which S3 lists
    after 'dir/-x' and 'dir/.a'; the store still lists in Swift's order,
    with every marker and page size (the reference: the same names in a
    real Swift container). On Swift's s3api, whose keys list in byte order
    as on AWS; SeaweedFS does not (next test)."""
    names = ORDER_NAMES
    container = 'order-' + uuid.uuid4().hex[:8]
    conn = swift(c1)
    conn.put_container(container)
    store = open_store(cfg.target('s3api'), c1['account'], container)
    assert store.trailing_slash == 'suffix'
    for n in names:
        conn.put_object(container, n, b'x')
        store.put(n, iter([b'x']), 1, 'text/plain', {})

    def swift_names(**q):
        return [o.get('name', o.get('subdir'))
                for o in conn.get_container(container, full_listing=True,
                                            **q)[1]]

    assert [e.name for e in store.list()] == swift_names()
    for m in names:
        assert [e.name for e in store.list(marker=m)] == \
            swift_names(marker=m), m
        assert [e.name for e in store.list(end_marker=m)] == \
            swift_names(end_marker=m), m
    for limit in (1, 2, 3):
        paged, marker = [], ''
        while True:
            page = [e.name for e in store.list(marker=marker, limit=limit)]
            if not page:
                break
            paged, marker = paged + page, page[-1]
        assert paged == swift_names(), limit
    assert [e.name for e in store.list(prefix='dir/')] == \
        swift_names(prefix='dir/')
    assert [e['subdir'] if isinstance(e, dict) else e.name
            for e in store.list(prefix='dir/', delimiter='/')] == \
        swift_names(prefix='dir/', delimiter='/')


def test_seaweedfs_lists_keys_in_tree_order_not_byte_order(env):
    """Evidence for doc/sync.rst (listing order): SeaweedFS, a file tree,
    lists the key 'dir-' after 'dir/a' (its directory 'dir' sorts before
    the file 'dir-'), and a StartAfter of 'dir-' skips everything under
    'dir/'; S3 (and Swift) order is byte order, '/' after '-'. When this
    test fails, SeaweedFS changed and the caveat can go."""
    client, bucket = s3(env, 'seaweedfs')
    base = 'order-%s/' % uuid.uuid4().hex[:8]
    for key in ('dir-', 'dir/a', 'e'):
        client.put_object(Bucket=bucket, Key=base + key, Body=b'x')

    def keys(**kw):
        resp = client.list_objects_v2(Bucket=bucket, Prefix=base, **kw)
        return [r['Key'][len(base):] for r in resp.get('Contents', [])]
    assert keys() == ['dir/a', 'dir-', 'e']
    assert keys(StartAfter=base + 'dir-') == ['e']
    assert keys(MaxKeys=1) == ['dir/a']
