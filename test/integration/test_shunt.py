"""The shunt's read-through: archived objects answer GET/HEAD/POST/DELETE
through the proxy, listings splice local and remote entries (real Swift,
SeaweedFS, Swift s3api and a second Swift cluster as remotes)."""

import hashlib
import os
import signal
import re
import time
import uuid
from urllib.parse import quote
import xml.etree.ElementTree as ET

import pytest
import requests
import swiftclient

from swiftsync import config, stores
from swiftsync.stores.base import META_LARGE, META_MD5, META_SOURCE_ETAG
from swiftsync.stores.base import PartData

from test.integration.clients import swift

LOCATION = 'X-Cloud-Sync-Location'
MiB = 1024 * 1024


@pytest.fixture(scope='module')
def c1(env):
    return env['clusters'][0]


@pytest.fixture(scope='module')
def conf(c1):
    return config.load(c1['swiftsync_conf'])


@pytest.fixture(scope='module')
def conn(c1):
    return swift(c1, 1)


def auth(conn):
    url, token = conn.get_auth()
    return url, token


def archived_container(conn, conf, account, target='s3', delete=None,
                       mode='archive', suffix=''):
    """A new container opted into archive mode on ``target``; returns
    (container name, store)."""
    name = 'shunt-' + uuid.uuid4().hex[:8] + suffix
    headers = {'X-Container-Cloud-Sync-Target': target,
               'X-Container-Cloud-Sync-Mode': mode,
               'X-Container-Cloud-Sync-After': '99999999'}
    if delete is not None:
        headers['X-Container-Cloud-Sync-Delete'] = delete
    conn.put_container(name, headers=headers)
    store = stores.open_store(conf.target(target), account, name)
    return name, store


def put_remote(store, name, data, content_type='text/plain', meta=None):
    return store.put(name, iter([data]), len(data), content_type,
                     dict(meta or {}),
                     etag=hashlib.md5(data).hexdigest())


def raw(method, url, token=None, headers=None, **kw):
    h = dict(headers or {})
    if token:
        h['X-Auth-Token'] = token
    return requests.request(method, url, headers=h, timeout=60, **kw)


# -- GET / HEAD ------------------------------------------------------------

def test_get_and_head_archived_object(env, c1, conf, conn):
    cont, store = archived_container(conn, conf, c1['account'],
                                     suffix='-\u00e9')
    data = b'archived bytes \xe2\x9c\x93' * 100
    put_remote(store, 'dir/\u00e9t\u00e9.txt', data, 'text/x-test',
               {'color': 'blue'})
    conn.put_object(cont, 'local.txt', b'local')

    hdrs, body = conn.get_object(cont, 'dir/\u00e9t\u00e9.txt')
    assert body == data
    assert hdrs['etag'] == hashlib.md5(data).hexdigest()
    assert hdrs['content-type'] == 'text/x-test'
    assert int(hdrs['content-length']) == len(data)
    assert hdrs['x-object-meta-color'] == 'blue'
    assert hdrs['x-cloud-sync-location'] == 's3'
    assert hdrs['accept-ranges'] == 'bytes'
    assert 'last-modified' in hdrs and 'x-timestamp' in hdrs

    head = conn.head_object(cont, 'dir/\u00e9t\u00e9.txt')
    for k in ('etag', 'content-type', 'content-length',
              'x-object-meta-color', 'last-modified'):
        assert head[k] == hdrs[k], k

    # local objects are untouched
    hdrs, body = conn.get_object(cont, 'local.txt')
    assert body == b'local' and LOCATION.lower() not in hdrs
    # missing in both places: Swift's 404
    with pytest.raises(swiftclient.ClientException) as e:
        conn.get_object(cont, 'nowhere')
    assert e.value.http_status == 404


def _norm(resp):
    ctype = resp.headers.get('Content-Type', '')
    body = resp.content
    m = re.search(r'boundary=(\S+)', ctype)
    if m:
        body = body.replace(m.group(1).encode(), b'BOUNDARY')
        ctype = ctype.replace(m.group(1), 'BOUNDARY')
    return (resp.status_code, resp.headers.get('Content-Range'),
            resp.headers.get('Content-Length') if resp.status_code != 304
            else None, ctype.split(';')[0] if resp.status_code in (
                200, 206) else None, body)


@pytest.mark.parametrize('target', ['s3', 's3api'])
def test_range_and_conditionals_like_a_local_object(env, c1, conf, conn,
                                                    target):
    cont, store = archived_container(conn, conf, c1['account'], target)
    data = bytes(range(256)) * 40
    etag = hashlib.md5(data).hexdigest()
    put_remote(store, 'arch', data, 'application/octet-stream')
    conn.put_object(cont, 'twin', data,
                    content_type='application/octet-stream')
    url, token = auth(conn)
    cases = [
        {}, {'Range': 'bytes=10-19'}, {'Range': 'bytes=-5'},
        {'Range': 'bytes=10230-'}, {'Range': 'bytes=0-1,5-6,100-'},
        {'Range': 'bytes=99999-'},
        {'If-Match': etag}, {'If-Match': '"%s"' % etag},
        {'If-Match': 'nope'}, {'If-Match': '*'},
        {'If-None-Match': etag}, {'If-None-Match': 'nope'},
        {'If-Modified-Since': 'Mon, 01 Jan 2001 00:00:00 GMT'},
        {'If-Modified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT'},
        {'If-Unmodified-Since': 'Mon, 01 Jan 2001 00:00:00 GMT'},
        {'If-Unmodified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT'},
        {'If-None-Match': etag, 'Range': 'bytes=1-2'},
    ]
    for h in cases:
        for method in ('GET', 'HEAD'):
            local = raw(method, '%s/%s/twin' % (url, cont), token, h)
            remote = raw(method, '%s/%s/arch' % (url, cont), token, h)
            assert _norm(remote) == _norm(local), (method, h)
            if remote.status_code in (200, 206):
                assert remote.headers.get(LOCATION) == target, (
                    h, method, dict(remote.headers))
    # If-Match: * on an object missing everywhere is Swift's 412
    assert raw('GET', '%s/%s/nowhere' % (url, cont), token,
               {'If-Match': '*'}).status_code == 412


def test_archived_slo_whole_and_by_range(env, c1, conf, conn):
    cont, store = archived_container(conn, conf, c1['account'])
    seg1 = b'a' * (5 * MiB)
    seg2 = b'b' * 1000
    data = seg1 + seg2
    seg_etags = [hashlib.md5(s).hexdigest() for s in (seg1, seg2)]
    slo_etag = hashlib.md5(''.join(seg_etags).encode()).hexdigest()
    manifest = [{'name': '/%s_segments/big/%d' % (cont, i), 'hash': e,
                 'bytes': len(s)}
                for i, (e, s) in enumerate(zip(seg_etags, (seg1, seg2)))]
    parts = [PartData(1, len(seg1), iter([seg1]), seg_etags[0]),
             PartData(2, len(seg2), iter([seg2]), seg_etags[1])]
    store.put_large('big', parts, len(data), 'video/x-test',
                    {'color': 'red', META_LARGE: 'slo',
                     META_SOURCE_ETAG: slo_etag,
                     META_MD5: hashlib.md5(data).hexdigest()},
                    manifest=manifest)
    hdrs, body = conn.get_object(cont, 'big')
    assert body == data
    assert hdrs['x-static-large-object'] == 'True'
    assert hdrs['etag'] == '"%s"' % slo_etag
    assert hdrs['x-object-meta-color'] == 'red'
    assert 'swiftsync' not in ' '.join(hdrs)
    hdrs, body = conn.get_object(cont, 'big', headers={
        'Range': 'bytes=%d-%d' % (5 * MiB - 2, 5 * MiB + 1)})
    assert body == b'aabb'
    assert hdrs['content-range'] == 'bytes %d-%d/%d' % (
        5 * MiB - 2, 5 * MiB + 1, len(data))
    url, token = auth(conn)
    r = raw('GET', '%s/%s/big' % (url, cont), token,
            {'If-None-Match': slo_etag})
    assert r.status_code == 304


# -- POST / DELETE ---------------------------------------------------------

def test_post_and_delete_remote_only_objects(env, c1, conf, conn):
    cont, store = archived_container(conn, conf, c1['account'])
    put_remote(store, 'o', b'data', 'text/plain', {'color': 'blue'})
    conn.post_object(cont, 'o', headers={'X-Object-Meta-Shape': 'round',
                                         'Content-Type': 'text/x-new'})
    hdrs = conn.head_object(cont, 'o')
    assert hdrs['x-object-meta-shape'] == 'round'
    assert 'x-object-meta-color' not in hdrs  # POST replaces, like Swift
    assert hdrs['content-type'] == 'text/x-new'
    assert store.head('o').metadata == {'shape': 'round'}

    # archive mode does not propagate deletes by default: a clear 409
    with pytest.raises(swiftclient.ClientException) as e:
        conn.delete_object(cont, 'o')
    assert e.value.http_status == 409
    assert b'does not delete remote copies' in e.value.http_response_content
    assert conn.get_object(cont, 'o')[1] == b'data'

    cont2, store2 = archived_container(conn, conf, c1['account'],
                                       delete='true')
    put_remote(store2, 'o', b'data')
    conn.delete_object(cont2, 'o')
    assert store2.head('o') is None
    with pytest.raises(swiftclient.ClientException) as e:
        conn.get_object(cont2, 'o')
    assert e.value.http_status == 404
    # POST/DELETE on objects missing everywhere: Swift's 404
    for call in (lambda: conn.delete_object(cont2, 'o'),
                 lambda: conn.post_object(cont2, 'o', headers={})):
        with pytest.raises(swiftclient.ClientException) as e:
            call()
        assert e.value.http_status == 404


# -- listings --------------------------------------------------------------

def model(names, prefix='', marker='', end_marker='', delimiter='',
          limit=10000, reverse=False):
    lo, hi = (end_marker, marker) if reverse else (marker, end_marker)
    out, seen = [], set()
    for n in sorted(set(names)):
        if not n.startswith(prefix) or (lo and n <= lo) or \
                (hi and n >= hi):
            continue
        if delimiter:
            end = n.find(delimiter, len(prefix))
            if end >= 0:
                d = n[:end + len(delimiter)]
                if d != lo and d not in seen:
                    seen.add(d)
                    out.append(d)
                continue
        out.append(n)
    if reverse:
        out.reverse()
    return out[:limit]


def ls(conn, cont, **kw):
    """A JSON container listing with any of Swift's parameters."""
    url, token = conn.get_auth()
    params = dict(kw, format='json')
    if params.pop('reverse', False):
        params['reverse'] = 'true'
    r = requests.get('%s/%s' % (url, cont), params=params,
                     headers={'X-Auth-Token': token}, timeout=60)
    assert r.status_code in (200, 204), r.text
    return r.json() if r.status_code == 200 else []


def _keys(entries):
    return [e.get('name', e.get('subdir')) for e in entries]


@pytest.mark.parametrize('target', ['s3', 's3api'])
def test_listing_splice(env, c1, conf, conn, target):
    cont, store = archived_container(conn, conf, c1['account'], target,
                                     suffix='-\u00e9\u4e2d')
    local = ['a', 'b/1', 'b/2', 'd', '\u00e9/x', 'z', 'both']
    remote = ['a0', 'b/3', 'c/1', 'both', '\u4e2d', 'e', 'f/g/h']
    for n in local:
        conn.put_object(cont, n, b'L')
    for n in remote:
        put_remote(store, n, b'RR')
    every = local + remote

    hdrs, listing = conn.get_container(cont)
    assert _keys(listing) == sorted(set(every))
    by_name = {e['name']: e for e in listing}
    assert by_name['both'].get('content_location') is None  # local wins
    assert by_name['both']['bytes'] == 1
    assert by_name['a0']['content_location'] == target
    assert by_name['a0']['bytes'] == 2
    assert by_name['a0']['hash'] == hashlib.md5(b'RR').hexdigest()
    assert re.match(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$',
                    by_name['a0']['last_modified'])
    assert int(hdrs['x-container-object-count']) == len(local)

    cases = [dict(prefix='b/'), dict(delimiter='/'),
             dict(delimiter='/', reverse=True),
             dict(marker='b/2', end_marker='e'), dict(end_marker='b/3'),
             dict(marker='e', end_marker='b', reverse=True),
             dict(prefix='f/', delimiter='/'), dict(limit=3)]
    if target == 's3api':
        # a marker naming a "directory": SeaweedFS's ListObjectsV2 skips
        # the keys below it on StartAfter=<dir> (p/b/3 > p/b is left out),
        # Swift's s3api and AWS do not; the shunt is right on a right S3
        cases += [dict(marker='b'), dict(marker='b', delimiter='/')]
    for kw in cases:
        got = ls(conn, cont, **kw)
        assert _keys(got) == model(every, **kw), kw

    # paging with markers: nothing lost, nothing repeated
    for reverse in (False, True):
        for delimiter in ('', '/'):
            seen, marker = [], ''
            while True:
                page = ls(conn, cont, marker=marker, limit=2,
                          delimiter=delimiter, reverse=reverse)
                seen += _keys(page)
                if len(page) < 2:
                    break
                marker = _keys(page)[-1]
            assert seen == model(every, delimiter=delimiter,
                                 reverse=reverse)

    url, token = auth(conn)
    plain = raw('GET', '%s/%s' % (url, cont), token)
    assert plain.status_code == 200
    assert plain.headers['Content-Type'] == 'text/plain; charset=utf-8'
    assert plain.content.decode('utf-8').splitlines() == sorted(set(every))
    for fmt in ('xml', None):
        r = raw('GET', '%s/%s' % (url, cont) + (
            '?format=xml' if fmt else ''), token,
            {} if fmt else {'Accept': 'application/xml'})
        assert r.headers['Content-Type'] == 'application/xml; charset=utf-8'
        doc = ET.fromstring(r.content)
        assert doc.get('name') == cont
        objs = {o.find('name').text: o for o in doc.findall('object')}
        assert sorted(objs) == sorted(set(every))
        assert objs['a0'].find('content_location').text == target
        assert objs['a'].find('content_location') is None
    r = raw('GET', '%s/%s?format=json&delimiter=/' % (url, cont), token)
    assert {'subdir': 'c/'} in r.json()


# -- authorization ---------------------------------------------------------

def test_authorization_first(env, c1, conf, conn):
    cont, store = archived_container(conn, conf, c1['account'])
    put_remote(store, 'secret', b'top secret')
    url, token = auth(conn)
    obj_url = '%s/%s/secret' % (url, cont)
    # anonymous
    for method in ('GET', 'HEAD', 'POST', 'DELETE'):
        r = raw(method, obj_url)
        assert r.status_code == 401, method
        assert b'top secret' not in r.content
    r = raw('GET', '%s/%s' % (url, cont))
    assert r.status_code == 401 and b'secret' not in r.content
    # another account's user
    other = swift(c1, 2)
    _, token2 = other.get_auth()
    for method in ('GET', 'HEAD', 'POST', 'DELETE'):
        r = raw(method, obj_url, token2)
        assert r.status_code == 403, method
        assert b'top secret' not in r.content
    assert raw('GET', '%s/%s' % (url, cont), token2).status_code == 403
    assert store.head('secret') is not None

    # a public container: anonymous reads work, writes still do not
    conn.post_container(cont, headers={'X-Container-Read': '.r:*'})
    r = raw('GET', obj_url)
    assert r.status_code == 200 and r.content == b'top secret'
    assert raw('POST', obj_url).status_code == 401
    # tempurl
    import hmac
    conn.post_account(headers={'X-Account-Meta-Temp-URL-Key': 'k3y'})
    cont2, store2 = archived_container(conn, conf, c1['account'])
    put_remote(store2, 'tmp', b'via tempurl')
    path = '/v1/%s/%s/tmp' % (c1['account'], cont2)
    expires = int(time.time() + 300)
    sig = hmac.new(b'k3y', ('GET\n%d\n%s' % (expires, path)).encode(),
                   hashlib.sha256).hexdigest()
    r = raw('GET', '%s%s?temp_url_sig=%s&temp_url_expires=%d' % (
        c1['proxy_url'], path, sig, expires))
    assert r.status_code == 200 and r.content == b'via tempurl'
    r = raw('GET', '%s%s?temp_url_sig=%s&temp_url_expires=%d' % (
        c1['proxy_url'], path, '0' * 64, expires))
    assert r.status_code == 401


# -- bypass and faults -----------------------------------------------------

def test_bypass_header(env, c1, conf, conn):
    cont, store = archived_container(conn, conf, c1['account'])
    put_remote(store, 'o', b'x')
    url, token = auth(conn)
    r = raw('GET', '%s/%s/o' % (url, cont), token,
            {'X-Cloud-Sync-Bypass': 'true'})
    assert r.status_code == 404
    r = raw('GET', '%s/%s?format=json' % (url, cont), token,
            {'X-Cloud-Sync-Bypass': 'true'})
    assert r.status_code in (200, 204) and not (r.content and r.json())
    assert raw('GET', '%s/%s/o' % (url, cont), token).status_code == 200


def test_containers_without_mapping_untouched(env, c1, conn):
    url, token = auth(conn)
    cont = 'plain-' + uuid.uuid4().hex[:8]
    conn.put_container(cont)
    conn.put_object(cont, 'o', b'x')
    r = raw('GET', '%s/%s/o' % (url, cont), token)
    assert r.status_code == 200 and LOCATION not in r.headers
    assert raw('GET', '%s/%s/nope' % (url, cont), token).status_code == 404


def test_remote_down_is_503_and_local_unaffected(env, deployment, c1, conf,
                                                 conn):
    cont, store = archived_container(conn, conf, c1['account'])
    put_remote(store, 'arch', b'remote')
    conn.put_object(cont, 'local', b'local')
    url, token = auth(conn)
    deployment.procs.stop(['seaweedfs'])
    try:
        t0 = time.time()
        r = raw('GET', '%s/%s/arch' % (url, cont), token)
        assert r.status_code == 503
        assert b'remote store s3' in r.content
        assert time.time() - t0 < 15
        r = raw('GET', '%s/%s?format=json' % (url, cont), token)
        assert r.status_code == 503
        r = raw('GET', '%s/%s/local' % (url, cont), token)
        assert r.status_code == 200 and r.content == b'local'
    finally:
        deployment.procs.restart('seaweedfs')
    deadline = time.time() + 30
    while True:
        r = raw('GET', '%s/%s/arch' % (url, cont), token)
        if r.status_code == 200 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code == 200 and r.content == b'remote'


def test_remote_silent_is_503_within_the_timeout(env, deployment, c1, conf,
                                                 conn):
    """SeaweedFS frozen (SIGSTOP): the proxy gives up after remote_timeout
    (10 s here) with a 503, it does not hang."""
    cont, store = archived_container(conn, conf, c1['account'])
    put_remote(store, 'arch', b'remote')
    url, token = auth(conn)
    pid = deployment.procs.procs['seaweedfs']['pid']
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.time()
        r = raw('GET', '%s/%s/arch' % (url, cont), token)
        elapsed = time.time() - t0
        assert r.status_code == 503
        assert b'did not answer' in r.content
        assert 9 < elapsed < 20
        assert raw('GET', '%s/%s/nope' % (url, cont), token,
                   {'X-Cloud-Sync-Bypass': 'true'}).status_code == 404
    finally:
        os.kill(pid, signal.SIGCONT)
    assert raw('GET', '%s/%s/arch' % (url, cont), token).content == b'remote'


def test_opting_out_takes_effect(env, c1, conf, conn):
    """A container POST through the proxy refreshes Swift's container-info
    cache: turning cloud sync off stops the read-through at once."""
    cont, store = archived_container(conn, conf, c1['account'])
    put_remote(store, 'o', b'x')
    assert conn.get_object(cont, 'o')[1] == b'x'
    conn.post_container(cont, headers={'X-Container-Cloud-Sync-Target': ''})
    with pytest.raises(swiftclient.ClientException) as e:
        conn.get_object(cont, 'o')
    assert e.value.http_status == 404
    assert _keys(ls(conn, cont)) == []


def test_sync_mode_without_merge_is_not_shunted(env, c1, conf, conn):
    cont, store = archived_container(conn, conf, c1['account'],
                                     mode='sync')
    put_remote(store, 'o', b'x')
    with pytest.raises(swiftclient.ClientException) as e:
        conn.get_object(cont, 'o')
    assert e.value.http_status == 404
    assert _keys(conn.get_container(cont)[1]) == []


# -- restore on GET (an operator mapping with restore = true) --------------

@pytest.fixture(scope='module')
def restore_cont(deployment, c1, conn):
    """A container of an operator [mapping:] with ``restore = true``: the
    mapping is added to c1's operator file and c1's proxy restarted."""
    name = 'shunt-restore-' + uuid.uuid4().hex[:8]
    with open(c1['swiftsync_conf'], 'a') as f:
        f.write('\n[mapping:shunt-restore]\naccount = %s\ncontainer = %s\n'
                'target = s3\nmode = archive\nafter = 999d\n'
                'restore = true\n' % (c1['account'], name))
    deployment.procs.stop(['c1-proxy'])
    deployment.procs.restart('c1-proxy')
    deadline = time.time() + 30
    while True:
        try:
            if requests.get(c1['proxy_url'] + '/healthcheck',
                            timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.time() < deadline, 'c1 proxy did not come back'
        time.sleep(0.2)
    conn.put_container(name)
    return name


def local_get(conn, cont, name):
    url, token = auth(conn)
    return raw('GET', '%s/%s/%s' % (url, cont, quote(name)), token,
               {'X-Cloud-Sync-Bypass': 'true'})


def wait_local(conn, cont, name, timeout=15):
    deadline = time.time() + timeout
    while True:
        r = local_get(conn, cont, name)
        if r.status_code == 200 or time.time() > deadline:
            return r
        time.sleep(0.2)


def test_restore_on_get(env, c1, conf, conn, restore_cont):
    store = stores.open_store(conf.target('s3'), c1['account'], restore_cont)
    data = b'restore me ' * 5000
    put_remote(store, 'r \u00e9', data, 'text/x-restore', {'color': 'green'})
    put_remote(store, 'ranged', data)
    # a ranged read does not restore
    hdrs, body = conn.get_object(restore_cont, 'ranged',
                                 headers={'Range': 'bytes=0-9'})
    assert body == data[:10]
    # a full read does, while the client reads
    hdrs, body = conn.get_object(restore_cont, 'r \u00e9')
    assert body == data and hdrs['x-cloud-sync-location'] == 's3'
    r = wait_local(conn, restore_cont, 'r \u00e9')
    assert r.status_code == 200 and r.content == data
    assert r.headers['Content-Type'] == 'text/x-restore'
    assert r.headers['X-Object-Meta-Color'] == 'green'
    assert LOCATION not in r.headers
    hdrs, body = conn.get_object(restore_cont, 'r \u00e9')
    assert LOCATION.lower() not in hdrs  # now served locally
    assert local_get(conn, restore_cont, 'ranged').status_code == 404


def test_restore_slo_as_slo(env, c1, conf, conn, restore_cont):
    store = stores.open_store(conf.target('s3'), c1['account'], restore_cont)
    seg1, seg2 = b'x' * (5 * MiB), b'y' * 123
    data = seg1 + seg2
    etags = [hashlib.md5(s).hexdigest() for s in (seg1, seg2)]
    segc = restore_cont + '_segments'
    manifest = [{'name': '/%s/slo/%d' % (segc, i), 'hash': e,
                 'bytes': len(s)}
                for i, (e, s) in enumerate(zip(etags, (seg1, seg2)))]
    slo_etag = hashlib.md5(''.join(etags).encode()).hexdigest()
    store.put_large('slo', [PartData(1, len(seg1), iter([seg1]), etags[0]),
                            PartData(2, len(seg2), iter([seg2]), etags[1])],
                    len(data), 'video/x-slo',
                    {META_LARGE: 'slo', META_SOURCE_ETAG: slo_etag},
                    manifest=manifest)
    hdrs, body = conn.get_object(restore_cont, 'slo')
    assert body == data
    r = wait_local(conn, restore_cont, 'slo')
    assert r.status_code == 200 and r.content == data
    assert r.headers['X-Static-Large-Object'] == 'True'
    assert r.headers['Etag'] == '"%s"' % slo_etag
    _, segs = conn.get_container(segc)
    assert [s['name'] for s in segs] == ['slo/0', 'slo/1']


def test_owner_opts_in_to_merge_and_restore(env, c1, conf, conn):
    """Sync mode with X-Container-Cloud-Sync-Merge and -Restore set by the
    container's owner."""
    cont, store = archived_container(conn, conf, c1['account'], mode='sync')
    conn.post_container(cont, headers={
        'X-Container-Cloud-Sync-Merge': 'yes',
        'X-Container-Cloud-Sync-Restore': 'on'})
    hdrs = conn.head_container(cont)
    assert hdrs['x-container-cloud-sync-merge'] == 'true'
    assert hdrs['x-container-cloud-sync-restore'] == 'true'
    with pytest.raises(swiftclient.ClientException) as e:
        conn.post_container(cont, headers={
            'X-Container-Cloud-Sync-Restore': 'perhaps'})
    assert e.value.http_status == 400
    put_remote(store, 'only-remote', b'remote data')
    assert [e['name'] for e in ls(conn, cont)] == ['only-remote']
    assert conn.get_object(cont, 'only-remote')[1] == b'remote data'
    r = wait_local(conn, cont, 'only-remote')
    assert r.status_code == 200 and r.content == b'remote data'


def test_failing_restore_never_breaks_the_read(env, c1, conf, conn,
                                                restore_cont):
    store = stores.open_store(conf.target('s3'), c1['account'], restore_cont)
    data = b'q' * 100000
    put_remote(store, 'too-big', data)
    conn.post_container(restore_cont,
                        headers={'X-Container-Meta-Quota-Bytes': '10'})
    try:
        hdrs, body = conn.get_object(restore_cont, 'too-big')
        assert body == data
        time.sleep(2)
        assert local_get(conn, restore_cont, 'too-big').status_code == 404
    finally:
        conn.post_container(restore_cont,
                            headers={'X-Container-Meta-Quota-Bytes': ''})


def test_objects_archived_by_the_daemon_answer(env, c1, conn):
    """End to end: ``swiftsync sync --once`` archives (copies then deletes
    locally), and the shunt serves what it wrote."""
    import subprocess
    import sys
    cont = 'shunt-daemon-' + uuid.uuid4().hex[:6]
    conn.put_container(cont, headers={
        'X-Container-Cloud-Sync-Target': 's3',
        'X-Container-Cloud-Sync-Mode': 'archive',
        'X-Container-Cloud-Sync-After': '0'})
    conn.put_object(cont, 'log/1.txt', b'one', content_type='text/x-log',
                    headers={'X-Object-Meta-Day': 'monday'})
    conn.put_object(cont, 'log/2.txt', b'two two')
    exe = os.path.join(os.path.dirname(sys.executable), 'swiftsync')
    proc = subprocess.run([exe, 'sync', c1['nodes'][0]['swiftsync_conf'],
                           '--once'], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    hdrs = conn.head_container(cont)
    assert int(hdrs['x-container-object-count']) == 0  # archived
    hdrs, body = conn.get_object(cont, 'log/1.txt')
    assert body == b'one' and hdrs['x-cloud-sync-location'] == 's3'
    assert hdrs['content-type'] == 'text/x-log'
    assert hdrs['x-object-meta-day'] == 'monday'
    hdrs, body = conn.get_object(cont, 'log/2.txt',
                                 headers={'Range': 'bytes=4-'})
    assert body == b'two'
    entries = ls(conn, cont)
    assert [(e['name'], e['bytes'], e['content_location'])
            for e in entries] == [('log/1.txt', 3, 's3'),
                                  ('log/2.txt', 7, 's3')]
