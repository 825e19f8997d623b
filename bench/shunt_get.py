"""shunt_get: an archived object read through the proxy (from SeaweedFS, by
the shunt) vs the same object stored locally and read through the same
proxy, in MB/s. Target: ratio >= 0.8, and the proxy's RSS grows by at most
32 MiB during the archived read.

Also reported: SeaweedFS read directly (botocore) for context.
"""

import hashlib
import threading
import time
import uuid

import requests

from common import deployment, median, parser, report, rss_mib

from swiftsync import config, stores
from swiftsync.stores.base import close_iter

MiB = 1024 * 1024
CHUNK = MiB


def pattern(size):
    block = hashlib.sha256(b'shunt').digest() * (CHUNK // 32)
    left = size
    while left > 0:
        n = min(left, CHUNK)
        yield block[:n]
        left -= n


class PatternFile(object):
    """``size`` bytes of the pattern as a file (requests sends it with a
    Content-Length)."""

    def __init__(self, size):
        self.size = size
        self.it = pattern(size)
        self.buf = b''

    def __len__(self):
        return self.size

    def read(self, n=-1):
        while (n < 0 or len(self.buf) < n):
            chunk = next(self.it, None)
            if chunk is None:
                break
            self.buf += chunk
        if n < 0:
            n = len(self.buf)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid) or 0)
            time.sleep(0.02)


def login(cluster):
    """(storage URL, token) of the cluster's first user."""
    auth = requests.get(cluster['auth_url'], headers={
        'X-Auth-User': cluster['user'], 'X-Auth-Key': cluster['key']},
        timeout=30)
    return auth.headers['X-Storage-Url'], auth.headers['X-Auth-Token']


def archive_container(cluster, url, token):
    """A new container in archive mode on target s3 (nothing old enough
    to be archived by a daemon): (name, the store of its remote side)."""
    cont = 'bench-' + uuid.uuid4().hex[:6]
    r = requests.put('%s/%s' % (url, cont), headers={
        'X-Auth-Token': token, 'X-Container-Cloud-Sync-Target': 's3',
        'X-Container-Cloud-Sync-Mode': 'archive',
        'X-Container-Cloud-Sync-After': '99999999'}, timeout=30)
    assert r.status_code in (201, 202), r.status_code
    conf = config.load(cluster['swiftsync_conf'])
    return cont, stores.open_store(conf.target('s3'), cluster['account'],
                                   cont)


def read_mbps(url, token, size, pid=None):
    sampler = None
    before = rss_mib(pid) if pid else None
    if pid:
        sampler = RssSampler(pid)
        sampler.start()
    start = time.perf_counter()
    got = 0
    with requests.get(url, headers={'X-Auth-Token': token}, stream=True,
                      timeout=120) as r:
        assert r.status_code == 200, r.status_code
        for chunk in r.iter_content(CHUNK):
            got += len(chunk)
    seconds = time.perf_counter() - start
    assert got == size, (got, size)
    growth = None
    if sampler:
        sampler.stop.set()
        sampler.join()
        growth = max(0.0, sampler.peak - before)
    return size / MiB / seconds * 1.048576, growth, r.headers


def main():
    args = parser(__doc__).parse_args()
    size = (64 if args.quick else 256) * MiB
    runs = 1 if args.quick else 3
    with deployment(args, clusters=1, s3='seaweedfs') as dep:
        env = dep.env
        c1 = env['clusters'][0]
        pid = dep.procs.procs['c1-proxy']['pid']
        url, token = login(c1)
        cont, store = archive_container(c1, url, token)
        r = requests.put('%s/%s/local' % (url, cont), data=PatternFile(size),
                         headers={'X-Auth-Token': token}, timeout=300)
        assert r.status_code == 201, r.status_code
        store.put('archived', pattern(size), size, 'application/octet-stream',
                  {})
        # the proxy builds its S3 client (botocore) on the first archived
        # read: time that once, apart from the throughput runs
        store.put('warm-up', iter([b'x']), 1, 'text/plain', {})
        start = time.perf_counter()
        r = requests.get('%s/%s/warm-up' % (url, cont),
                         headers={'X-Auth-Token': token}, timeout=60)
        assert r.status_code == 200, r.status_code
        first_read_s = time.perf_counter() - start
        local, remote, direct, growth = [], [], [], []
        for _ in range(runs):
            mbps, _, _ = read_mbps('%s/%s/local' % (url, cont), token, size)
            local.append(mbps)
            mbps, grown, headers = read_mbps(
                '%s/%s/archived' % (url, cont), token, size, pid)
            assert headers.get('X-Cloud-Sync-Location') == 's3'
            remote.append(mbps)
            growth.append(grown)
            start = time.perf_counter()
            _, _, _, body = store.get('archived')
            n = 0
            for chunk in body:
                n += len(chunk)
            close_iter(body)
            direct.append(size / MiB / (time.perf_counter() - start) *
                          1.048576)
        ours, peer = median(remote), median(local)
        print('archived via proxy %s MB/s; local via proxy %s MB/s; '
              'SeaweedFS direct %s MB/s; proxy RSS growth %s MiB' % (
                  [round(x) for x in remote], [round(x) for x in local],
                  [round(x) for x in direct], [round(x, 1) for x in growth]))
        report('shunt_get', ours, peer, 'MB/s',
               'ratio >= 0.8 and proxy RSS growth <= 32 MiB',
               size_mib=size // MiB, runs=runs,
               first_archived_read_s=round(first_read_s, 3),
               seaweedfs_direct_mbps=round(median(direct), 1),
               proxy_rss_growth_mib=round(max(growth), 1),
               rss_ok=max(growth) <= 32)


if __name__ == '__main__':
    main()
