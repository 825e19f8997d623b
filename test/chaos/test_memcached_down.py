"""Chaos scenario 5: memcached stopped under a proxy running every swiftsync
filter (``sync_keys``, ``autosync``, ``shunt``): the filters degrade (no
cache: more backend requests) but answer correctly, never a 5xx; when
memcached is back the proxy uses it again.

Two Swift clusters with autosync and SeaweedFS as the shunt's S3 target;
c1's memcached is stopped. Swift's tempauth keeps its tokens in memcached,
so without it no token could be issued or checked (tempauth answers 503 or
401: Swift's behaviour, whatever filters follow it). c1's tempauth is
therefore set to issue Fernet tokens (its ``fernet_key_*`` options), as a
deployment that must survive a memcached outage would, and its memcache
client retries a failed server after 5 s (``error_suppression_interval``;
Swift's default is 60 s).

Replay protection of signed peer requests keeps its nonces in memcached,
which every proxy of the cluster shares; without memcached each proxy
process remembers the nonces it saw itself, so a replay to the same
process is still refused (a replay to another proxy process of the same
cluster would not be, within the replay window, while memcached is down).
"""

import collections
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet

from swiftsync import config, signing

from test.chaos.conftest import capture, chaos_deployment, scaled
from test.integration.test_sync_keys import write_profiles

ROUNDS = scaled(2, 20)
SWIFTSYNC = [sys.executable, '-m', 'swiftsync.cli.main']


def cl(env, name):
    return next(c for c in env['clusters'] if c['name'] == name)


def edit_section(path, section, **items):
    """Add ``items`` to ``[section]`` of an INI file."""
    with open(path) as f:
        text = f.read()
    head = '[%s]\n' % section
    at = text.index(head) + len(head)
    lines = ''.join('%s = %s\n' % kv for kv in items.items())
    with open(path, 'w') as f:
        f.write(text[:at] + lines + text[at:])


@pytest.fixture(scope='module')
def dep(tmp_path_factory):
    d = chaos_deployment(tmp_path_factory, 'memcached-down', clusters=2,
                         replicas=1, s3='seaweedfs',
                         filters='sync_keys,autosync,shunt')
    try:
        conf = os.path.join(os.path.dirname(cl(d.env, 'c1')[
            'swiftsync_conf']), 'proxy-server.conf')
        edit_section(conf, 'filter:tempauth', active_fernet_key_id='1',
                     fernet_key_1=Fernet.generate_key().decode())
        edit_section(conf, 'filter:cache', error_suppression_interval='5')
        d.procs.stop(['c1-proxy'])
        d.restart('c1-proxy')
        yield d
    finally:
        d.down()


class Proxy(object):
    """Plain HTTP to one cluster's proxy; every status is counted."""

    def __init__(self, cluster, statuses):
        self.cluster = cluster
        self.port = int(cluster['proxy_url'].rsplit(':', 1)[1])
        self.statuses = statuses
        self.token = None
        self.seconds = []  # of each request

    def auth(self):
        status, h, _ = self.request('GET', '/auth/v1.0', {
            'X-Auth-User': self.cluster['user'],
            'X-Auth-Key': self.cluster['key']}, token=False)
        assert status == 200, status
        self.token = h['x-auth-token']

    def request(self, method, path, headers=None, body=None, token=True):
        h = dict(headers or {})
        if token and self.token:
            h['X-Auth-Token'] = self.token
        conn = http.client.HTTPConnection('127.0.0.1', self.port,
                                          timeout=60)
        begin = time.time()
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        self.seconds.append(time.time() - begin)
        headers = {k.lower(): v for k, v in resp.getheaders()}
        self.statuses[resp.status] += 1
        capture(headers, data)
        return resp.status, headers, data


def mean_ms(seconds):
    return round(1000 * sum(seconds) / max(1, len(seconds)), 1)


def acct(name=''):
    return '/v1/AUTH_test' + ('/' + quote(name) if name else '')


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def memcached_stats(cluster):
    host, port = cluster['memcached'].split(',')[0].rsplit(':', 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b'stats\r\n')
        data = b''
        while not data.endswith(b'END\r\n'):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return {p[1]: p[2] for p in (ln.split() for ln in
                                 data.decode().splitlines())
            if len(p) == 3 and p[0] == 'STAT'}


def archive(dep, c1, n):
    """A container of ``n`` objects archived to S3 by ``swiftsync sync``
    (archive mode, after 0): {name: body}; on c1 only."""
    p = Proxy(c1, collections.Counter())
    p.auth()
    cont = unique('arch')
    status, _, _ = p.request('PUT', acct(cont), {
        'X-Container-Placement': 'c1',
        'X-Container-Cloud-Sync-Target': 's3',
        'X-Container-Cloud-Sync-Mode': 'archive',
        'X-Container-Cloud-Sync-After': '0'})
    assert status == 201
    objects = {}
    for i in range(n):
        name = 'log/%03d.txt' % i
        objects[name] = ('archived %d ' % i).encode() * 50
        assert p.request('PUT', acct(cont) + '/' + name, {
            'Content-Type': 'text/x-log', 'X-Object-Meta-N': str(i)},
            body=objects[name])[0] == 201
    out = subprocess.run(SWIFTSYNC + ['sync', c1['nodes'][0][
        'swiftsync_conf'], '--once'], capture_output=True, text=True,
        timeout=300)
    capture(out.stdout, out.stderr)
    assert out.returncode == 0, out.stderr[-2000:]
    status, h, _ = p.request('HEAD', acct(cont), {
        'X-Swiftsync-Local-Only': '1'})
    assert h['x-container-object-count'] == '0'  # archived: gone locally
    return cont, objects


def exercise(env, p1, p2, arch, objects, replays):
    """Every filter through c1's proxy; asserts each answer."""
    c1 = cl(env, 'c1')
    # -- autosync: container PUT, POST, DELETE mirrored to c2 --------------
    cont = unique('as')
    status, h, body = p1.request('PUT', acct(cont), {
        'X-Container-Meta-Color': 'blue'})
    assert status == 201 and h['x-container-placement'] == 'c1,c2', body
    assert 'x-swiftsync-pending' not in h
    status, h, _ = p2.request('HEAD', acct(cont))
    assert status == 204 and h['x-container-meta-color'] == 'blue'
    assert h['x-container-sync-to'] == '//dev/c1/AUTH_test/' + cont
    key = h['x-container-sync-key']
    status, h, _ = p1.request('HEAD', acct(cont))
    assert status == 204 and h['x-container-sync-key'] == key
    status, _, _ = p1.request('POST', acct(cont), {
        'X-Container-Meta-Color': 'green', 'X-Container-Read': '.r:*'})
    assert status == 204
    for p in (p1, p2):
        status, h, _ = p.request('HEAD', acct(cont))
        assert (h['x-container-meta-color'], h['x-container-read']) == (
            'green', '.r:*'), p.cluster['name']
    # read-through: an object written on c2, not synced (no container-sync)
    assert p2.request('PUT', acct(cont) + '/o', body=b'on c2')[0] == 201
    status, h, body = p1.request('GET', acct(cont) + '/o')
    assert (status, body, h.get('x-swiftsync-read-through')) == (
        200, b'on c2', 'c2')
    assert p1.request('GET', acct(cont) + '/nowhere')[0] == 404
    # account listing: both clusters merged
    status, _, body = p1.request('GET', acct() + '?format=json&prefix=' +
                                 cont)
    assert status == 200 and [c['name'] for c in json.loads(body)] == [cont]
    assert p2.request('DELETE', acct(cont) + '/o')[0] == 204
    status, _, body = p1.request('DELETE', acct(cont))
    assert status == 204, body
    for p in (p1, p2):
        assert p.request('HEAD', acct(cont), {
            'X-Swiftsync-Local-Only': '1'})[0] == 404
    # forwarding: a container placed on c2 only, served through c1
    placed = unique('fw')
    assert p1.request('PUT', acct(placed), {
        'X-Container-Placement': 'c2'})[0] == 201
    assert p1.request('PUT', acct(placed) + '/x', body=b'fwd')[0] == 201
    status, h, body = p1.request('GET', acct(placed) + '/x')
    assert (status, body, h.get('x-swiftsync-forwarded-to')) == (
        200, b'fwd', 'c2')
    # -- shunt: archived objects answer GET, HEAD, Range and listings -------
    name = sorted(objects)[len(objects) // 2]
    data = objects[name]
    status, h, body = p1.request('GET', acct(arch) + '/' + name)
    assert (status, body, h.get('x-cloud-sync-location')) == (200, data,
                                                               's3')
    assert h['etag'] == hashlib.md5(data).hexdigest()
    assert h['x-object-meta-n'] == str(sorted(objects).index(name))
    status, h, _ = p1.request('HEAD', acct(arch) + '/' + name)
    assert (status, h['content-length']) == (200, str(len(data)))
    status, _, body = p1.request('GET', acct(arch) + '/' + name,
                                 {'Range': 'bytes=3-10'})
    assert (status, body) == (206, data[3:11])
    status, _, body = p1.request('GET', acct(arch) + '?format=json')
    assert status == 200
    assert [(e['name'], e['bytes'], e.get('content_location'))
            for e in json.loads(body)] == [
        (n, len(objects[n]), 's3') for n in sorted(objects)]
    # -- sync_keys: a generated key for a Sync-To without a key -------------
    src, dst = unique('sk'), unique('sk')
    assert p2.request('PUT', acct(dst), {
        'X-Container-Placement': 'c2'})[0] == 201
    status, _, body = p1.request('PUT', acct(src), {
        'X-Container-Placement': 'c1',
        'X-Container-Sync-To': '//dev/c2/AUTH_test/' + dst})
    assert status == 201, body
    status, h, _ = p1.request('HEAD', acct(src))
    assert len(h['x-container-sync-key']) >= 43
    assert h['x-container-sync-to'] == '//dev/c2/AUTH_test/' + dst
    # -- signed peer requests into c1: done once, a replay refused ----------
    peer = unique('peer')
    path = '/v1/AUTH_test/' + peer
    secret = config.load(c1['swiftsync_conf']).clusters['c2'].secret
    signed = signing.sign_headers(secret, 'PUT', path, 'c2', 'c1')
    assert p1.request('PUT', path, signed, token=False)[0] == 201
    assert p1.request('DELETE', path, signing.sign_headers(
        secret, 'DELETE', path, 'c2', 'c1'), token=False)[0] == 204
    status, _, body = p1.request('PUT', path, signed, token=False)
    assert status == 401 and b'replayed' in body, (status, body)
    replays['refused'] += 1
    assert p1.request('HEAD', path, {'X-Swiftsync-Local-Only': '1'})[0] == \
        404


def test_memcached_down_filters_degrade(dep, figures, tmp_path):
    env = dep.env
    c1, c2 = cl(env, 'c1'), cl(env, 'c2')
    statuses = collections.Counter()
    p1, p2 = Proxy(c1, statuses), Proxy(c2, collections.Counter())
    p2.auth()
    arch, objects = archive(dep, c1, scaled(5, 50))
    running = {p['name']: p['running'] for p in dep.status()}
    assert running['c1-memcached']
    log = dep.procs.log_path('c1-proxy')
    log_from = os.path.getsize(log)
    replays = collections.Counter()

    started = time.time()
    dep.procs.stop(['c1-memcached'])
    assert not {p['name']: p['running']
                for p in dep.status()}['c1-memcached']
    p1.auth()  # a Fernet token: no memcached needed
    for _ in range(ROUNDS):
        exercise(env, p1, p2, arch, objects, replays)
    # swiftsync keys link through c1 (and c2) with memcached down
    profiles = write_profiles(tmp_path / 'profiles.conf', env['clusters'])
    src, dst = unique('link'), unique('link')
    out = subprocess.run(SWIFTSYNC + [
        'keys', 'link', '--profiles', profiles, '--json', '--show-key',
        'c1:' + src, 'c2:' + dst], capture_output=True, text=True,
        timeout=120)
    assert out.returncode == 0, out.stderr
    linked = json.loads(out.stdout)
    # --show-key prints the key on purpose: everything else is searched
    capture(out.stdout.replace(linked['key'], '<shown on request>'),
            out.stderr)
    status, h, _ = p1.request('HEAD', acct(src))
    assert status == 204 and h['x-container-sync-key'] == linked['key']
    assert p2.request('HEAD', acct(dst))[1]['x-container-sync-key'] == \
        linked['key']
    down_seconds = time.time() - started
    down_requests = sum(statuses.values())
    down_statuses = dict(statuses)
    down_ms = mean_ms(p1.seconds)
    p1.seconds = []

    # memcached back: the proxy uses it again, everything still right
    dep.restart('c1-memcached')
    back = time.time()
    before = int(memcached_stats(c1)['cmd_set'])
    p1.auth()
    recovered = None
    while time.time() - back < 30:
        exercise(env, p1, p2, arch, objects, replays)
        if int(memcached_stats(c1)['cmd_set']) > before:
            recovered = round(time.time() - back, 2)
            break
    assert recovered is not None, 'c1 proxy never used memcached again'
    exercise(env, p1, p2, arch, objects, replays)

    with open(log, errors='replace') as f:
        f.seek(log_from)
        lines = f.read().splitlines()
    tracebacks = [ln for ln in lines if 'Traceback' in ln]
    assert not tracebacks, '\n'.join(lines[-50:])
    assert not [s for s in statuses if s >= 500], statuses
    errors = {str(s): n for s, n in sorted(statuses.items()) if s >= 400}
    figures.record(
        'memcached_down', requests=sum(statuses.values()),
        requests_while_down=down_requests,
        errors_by_status=errors,
        errors_by_status_while_down={str(s): n for s, n in sorted(
            down_statuses.items()) if s >= 400},
        expected_errors='404: absent objects and deleted containers '
                        'checked on purpose; 401: replayed peer requests',
        replays_refused=replays['refused'], rounds=ROUNDS,
        archived_objects=len(objects), faults_injected=1,
        seconds_down=round(down_seconds, 2),
        mean_request_ms_while_down=down_ms,
        mean_request_ms_after=mean_ms(p1.seconds),
        recovered_after_seconds=recovered,
        seconds=round(time.time() - started, 2))
