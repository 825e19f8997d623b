"""Scenario 4: the proxy restarted during a shunted GET and during a
restore-on-GET.

Objects are archived by the ``swiftsync sync`` daemon (archive mode,
``after = 0``: copied to SeaweedFS, then deleted locally) and an SLO is put
in the store as the daemon writes one (a multipart upload with its manifest
kept beside it). A client reads one of them slowly through c1's proxy (a
small receive buffer, so the proxy is held mid-stream), the proxy is killed
(SIGKILL, or SIGTERM as ``swiftsync dev`` stops it) and started again.

What must hold:

* the client sees an error (a short read against ``Content-Length``, or a
  reset connection), never a complete-looking body;
* no half-written object is left locally: every ``.data`` file on the
  object servers has the size and the MD5 its metadata claims, the
  operator's bypass GET finds either nothing or the whole object;
* after the restart a GET serves the whole, correct object, and a full GET
  of a restore container writes the whole object back.
"""

import hashlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import quote, urlsplit

import pytest

from swift.obj.diskfile import read_metadata

from swiftsync import config, stores
from swiftsync.middleware.readthrough import BYPASS_HEADER, LOCATION_HEADER
from swiftsync.stores.base import (
    META_LARGE, META_MD5, META_SOURCE_ETAG, PartData)

from test.chaos.conftest import capture, chaos_deployment, scaled
from test.integration.clients import swift

MiB = 1024 * 1024
#: archived plain objects: big enough that a GET takes a while
SIZE = scaled(32, 128) * MiB
#: the archived SLO: segments of 5 MiB (S3's smallest part) plus a tail
SLO_SEGMENTS = scaled(4, 8)
#: what the slow client reads before the proxy is killed
READ_BEFORE_KILL = 2 * MiB
#: the slow client's receive buffer: keeps the proxy mid-stream
CLIENT_RCVBUF = 128 * 1024

TOTALS = {'gets_interrupted': 0, 'restores_interrupted': 0,
          'half_written_objects': 0, 'orphan_segments': 0,
          'restart_seconds_max': 0.0, 'errors_seen': {}}


def pattern(size, seed):
    """``size`` bytes, every MiB different (its offset is written in it):
    a shifted, repeated or truncated body cannot pass for the right one."""
    block = hashlib.sha256(seed.encode()).digest() * (MiB // 32)
    for off in range(0, size, MiB):
        head = b'%s:%012d:' % (seed.encode(), off)
        yield (head + block[len(head):])[:min(MiB, size - off)]


class PatternFile(object):
    """``pattern`` as a file for swiftclient, which sends a file with a
    Content-Length (streams; nothing held). A read may be short."""

    def __init__(self, size, seed):
        self._chunks = pattern(size, seed)
        self._rest = memoryview(b'')

    def read(self, size=MiB):
        if not len(self._rest):
            self._rest = memoryview(next(self._chunks, b''))
        out, self._rest = self._rest[:size], self._rest[size:]
        return bytes(out)


def md5_of(size, seed):
    h = hashlib.md5()
    for chunk in pattern(size, seed):
        h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope='module')
def dep(tmp_path_factory):
    TOTALS['started'] = time.time()
    d = chaos_deployment(tmp_path_factory, 'proxy-restart', clusters=1,
                         replicas=1, s3='seaweedfs')
    try:
        yield d
    finally:
        d.down()


@pytest.fixture(scope='module')
def c1(dep):
    return dep.env['clusters'][0]


@pytest.fixture(scope='module')
def conn(c1):
    return swift(c1, 1)


@pytest.fixture(scope='module')
def archived(dep, c1, conn):
    """Two archive containers (one restoring on GET) whose objects the
    sync daemon archived, and an SLO put in the store of the second one.
    Returns {name: (container, object, size, md5, is_slo)}."""
    tag = uuid.uuid4().hex[:6]
    shunted, restored = 'arch-' + tag, 'restore-' + tag
    for cont, restore in ((shunted, None), (restored, 'true')):
        headers = {'X-Container-Cloud-Sync-Target': 's3',
                   'X-Container-Cloud-Sync-Mode': 'archive',
                   'X-Container-Cloud-Sync-After': '0'}
        if restore:
            headers['X-Container-Cloud-Sync-Restore'] = restore
        conn.put_container(cont, headers=headers)
    objects = {}
    for key, cont in (('get-kill', shunted), ('get-term', shunted),
                      ('restore-kill', restored),
                      ('restore-term', restored)):
        name = 'big/%s \u00e9' % key
        conn.put_object(cont, name, PatternFile(SIZE, key),
                        content_length=SIZE,
                        content_type='application/x-chaos',
                        headers={'X-Object-Meta-Case': key})
        objects[key] = (cont, name, SIZE, md5_of(SIZE, key), False)
    exe = os.path.join(os.path.dirname(sys.executable), 'swiftsync')
    proc = subprocess.run([exe, 'sync', c1['nodes'][0]['swiftsync_conf'],
                           '--once'], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for cont in (shunted, restored):
        hdrs = conn.head_container(cont)
        assert int(hdrs['x-container-object-count']) == 0, (
            'the daemon did not archive %s' % cont)

    # an archived SLO, as the daemon stores one
    store = stores.open_store(
        config.load(c1['swiftsync_conf']).target('s3'), c1['account'],
        restored)
    sizes = [5 * MiB] * SLO_SEGMENTS + [12345]
    segs = [b''.join(pattern(n, 'slo-%d' % i)) for i, n in enumerate(sizes)]
    etags = [hashlib.md5(s).hexdigest() for s in segs]
    manifest = [{'name': '/%s_segments/slo/%d' % (restored, i), 'hash': e,
                 'bytes': len(s)} for i, (e, s) in enumerate(zip(etags,
                                                                 segs))]
    whole = hashlib.md5(b''.join(segs))
    store.put_large(
        'slo', [PartData(i + 1, len(s), iter([s]), e)
                for i, (s, e) in enumerate(zip(segs, etags))],
        sum(sizes), 'video/x-chaos',
        {META_LARGE: 'slo',
         META_SOURCE_ETAG: hashlib.md5(''.join(etags).encode()).hexdigest(),
         META_MD5: whole.hexdigest()}, manifest=manifest)
    objects['restore-slo-kill'] = (restored, 'slo', sum(sizes),
                                   whole.hexdigest(), True)
    del segs
    return objects


def _request(c1, token, method, cont, name, headers=None, rcvbuf=None):
    """An http.client response of c1's proxy (a small receive buffer when
    asked: the client is slow)."""
    parts = urlsplit(c1['proxy_url'])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(60)
    sock.connect((parts.hostname, parts.port))
    conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                      timeout=60)
    conn.sock = sock
    h = {'X-Auth-Token': token}
    h.update(headers or {})
    conn.request(method, '/v1/%s/%s/%s' % (
        c1['account'], quote(cont), quote(name)), headers=h)
    return conn, conn.getresponse()


class ShortRead(Exception):
    """The connection ended before Content-Length bytes came: what an HTTP
    client reports as an incomplete read (http.client's read(amt) itself
    returns b'' and leaves the check to its caller)."""


def _read_all(resp, already=0):
    """(bytes read, md5, error or None) of a whole response body."""
    h, got = hashlib.md5(), 0
    expected = int(resp.getheader('Content-Length')) - already
    try:
        while True:
            chunk = resp.read(MiB)
            if not chunk:
                error = None if got == expected else ShortRead(
                    '%d of %d bytes' % (got + already, expected + already))
                return got, h.hexdigest(), error
            h.update(chunk)
            got += len(chunk)
    except (OSError, http.client.HTTPException) as e:
        return got, h.hexdigest(), e


def _bad_data_files(c1):
    """.data files of c1's object servers whose size or MD5 is not what
    their metadata says (a truncated or half-written object), plus
    leftover temp files."""
    bad = []
    for node in c1['nodes']:
        for root, dirs, files in os.walk(node['devices']):
            # <devices>/<device>/{objects,tmp,containers,...}/...
            area = os.path.relpath(root, node['devices']).split(os.sep)[1:2]
            for f in files:
                path = os.path.join(root, f)
                if area == ['tmp']:
                    bad.append(('temp file left', path))
                    continue
                if not f.endswith('.data') or area != ['objects']:
                    continue
                meta = read_metadata(path)
                h, size = hashlib.md5(), 0
                with open(path, 'rb') as fp:
                    for chunk in iter(lambda: fp.read(MiB), b''):
                        h.update(chunk)
                        size += len(chunk)
                if size != int(meta['Content-Length']) or \
                        h.hexdigest() != meta['ETag']:
                    bad.append((meta.get('name'), size,
                                meta['Content-Length']))
    return bad


def _cut_puts(dep):
    """Object PUTs the object server saw cut short (499) so far."""
    with open(dep.procs.log_path('c1-object1'), 'rb') as f:
        return sum(1 for line in f
                   if b'"PUT /' in line and b'" 499 ' in line)


CASES = [
    # (object, signal, restores?)
    ('get-kill', signal.SIGKILL, False),
    ('get-term', signal.SIGTERM, False),
    ('restore-kill', signal.SIGKILL, True),
    ('restore-term', signal.SIGTERM, True),
    ('restore-slo-kill', signal.SIGKILL, True),
]


@pytest.mark.parametrize('key,sig,restores', CASES,
                         ids=[c[0] for c in CASES])
def test_proxy_killed_mid_stream(dep, c1, conn, archived, figures, key,
                                 sig, restores):
    cont, name, size, md5, is_slo = archived[key]
    url, token = conn.get_auth()

    # a slow full GET: the proxy streams from SeaweedFS (and, in a restore
    # container, writes the object back locally as the client reads)
    client, resp = _request(c1, token, 'GET', cont, name,
                            rcvbuf=CLIENT_RCVBUF)
    assert resp.status == 200, resp.read()[:500]
    assert resp.getheader(LOCATION_HEADER) == 's3'
    assert int(resp.getheader('Content-Length')) == size
    first = resp.read(READ_BEFORE_KILL)
    assert len(first) == READ_BEFORE_KILL
    time.sleep(0.5)  # the restore's local PUT is under way
    cut_before = _cut_puts(dep)

    assert dep.procs.stop(['c1-proxy'], sig=sig) == []
    try:
        got, _, error = _read_all(resp, len(first))
        client.close()
        got += len(first)
        if restores:
            # wait for the object server to log the restore's local PUT
            deadline = time.time() + 10
            while _cut_puts(dep) == cut_before and time.time() < deadline:
                time.sleep(0.1)
    finally:
        t0 = time.time()
        dep.restart('c1-proxy')
        TOTALS['restart_seconds_max'] = max(TOTALS['restart_seconds_max'],
                                            round(time.time() - t0, 2))
    # the client was told: a short read or a reset, never a whole body
    assert error is not None and got < size, (got, size, error)
    TOTALS['errors_seen'][type(error).__name__] = \
        TOTALS['errors_seen'].get(type(error).__name__, 0) + 1
    TOTALS['restores_interrupted' if restores else 'gets_interrupted'] += 1
    if restores:
        # the restore's local PUT was under way, and was cut short (499)
        assert _cut_puts(dep) == cut_before + 1

    # nothing half-written on the object servers...
    bad = _bad_data_files(c1)
    TOTALS['half_written_objects'] += len(bad)
    assert bad == []
    # ...and no local copy of the interrupted object (its restore died
    # with the proxy)
    client, local = _request(c1, token, 'GET', cont, name,
                             {BYPASS_HEADER: 'true'})
    body = local.read()
    client.close()
    capture(body, local.getheaders())
    assert local.status == 404, (local.status, body[:200])
    if is_slo:
        # segments the restore had finished are whole objects; they are
        # overwritten by the next restore
        try:
            TOTALS['orphan_segments'] += len(
                conn.get_container(cont + '_segments')[1])
        except Exception:
            pass

    # after the restart: the whole, right object, from the remote
    client, resp = _request(c1, token, 'GET', cont, name)
    assert resp.status == 200
    assert resp.getheader(LOCATION_HEADER) == 's3'
    got, got_md5, error = _read_all(resp)
    client.close()
    assert (got, got_md5, error) == (size, md5, None)
    if restores:
        # that full GET wrote the whole object back
        deadline = time.time() + 30
        while True:
            client, local = _request(c1, token, 'GET', cont, name,
                                     {BYPASS_HEADER: 'true'})
            if local.status == 200 or time.time() > deadline:
                break
            local.read()
            client.close()
            time.sleep(0.3)
        assert local.status == 200
        assert LOCATION_HEADER not in dict(local.getheaders())
        if is_slo:
            assert local.getheader('X-Static-Large-Object') == 'True'
        got, got_md5, error = _read_all(local)
        client.close()
        assert (got, got_md5, error) == (size, md5, None)
        assert _bad_data_files(c1) == []
    else:
        client, local = _request(c1, token, 'HEAD', cont, name,
                                 {BYPASS_HEADER: 'true'})
        assert local.status == 404
        client.close()

    figures.record('proxy_restart', objects=len(archived),
                   object_mib=SIZE // MiB,
                   faults_injected=TOTALS['gets_interrupted'] +
                   TOTALS['restores_interrupted'],
                   objects_lost=0,
                   seconds=round(time.time() - TOTALS['started'], 1),
                   **{k: v for k, v in TOTALS.items() if k != 'started'})
