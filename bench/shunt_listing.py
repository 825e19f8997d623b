"""shunt_listing: a merged listing (10,000 local + 10,000 archived entries,
interleaved) read through the proxy in pages of 10,000, vs the sum of a plain
local listing (same proxy, shunt bypassed) and a plain remote listing (the
bucket listed directly) of the same entries. Target: ratio >= 0.77 (merge
overhead <= 30%).
"""

import concurrent.futures
import time

import requests

from common import deployment, median, parser, report
from shunt_get import archive_container, login


def list_all(url, token, headers=None):
    """Every entry of a container listing, paged by 10,000."""
    h = {'X-Auth-Token': token}
    h.update(headers or {})
    entries, marker = [], ''
    session = requests.Session()
    while True:
        r = session.get(url, params={'format': 'json', 'limit': 10000,
                                     'marker': marker}, headers=h,
                        timeout=120)
        assert r.status_code in (200, 204), r.status_code
        page = r.json() if r.status_code == 200 else []
        entries += page
        if len(page) < 10000:
            return entries
        marker = page[-1]['name']


def main():
    args = parser(__doc__).parse_args()
    n = 1000 if args.quick else 10000
    runs = 3
    with deployment(args, clusters=1, s3='seaweedfs') as dep:
        c1 = dep.env['clusters'][0]
        url, token = login(c1)
        cont, store = archive_container(c1, url, token)
        local = ['obj-%06d' % (2 * i) for i in range(n)]
        remote = ['obj-%06d' % (2 * i + 1) for i in range(n)]
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=16)
        session.mount('http://', adapter)

        def put_local(name):
            r = session.put('%s/%s/%s' % (url, cont, name), data=b'',
                            headers={'X-Auth-Token': token}, timeout=60)
            assert r.status_code == 201, r.status_code

        def put_remote(name):
            store.put(name, iter([b'']), 0, 'application/octet-stream', {})

        start = time.time()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(put_local, local))
            list(pool.map(put_remote, remote))
        print('setup: %d local + %d remote objects in %.1f s'
              % (n, n, time.time() - start))
        curl = '%s/%s' % (url, cont)
        merged_t, local_t, remote_t = [], [], []
        for _ in range(runs):
            t = time.perf_counter()
            got = list_all(curl, token)
            merged_t.append(time.perf_counter() - t)
            assert [e['name'] for e in got] == sorted(local + remote)
            t = time.perf_counter()
            got = list_all(curl, token, {'X-Cloud-Sync-Bypass': 'true'})
            local_t.append(time.perf_counter() - t)
            assert len(got) == n
            t = time.perf_counter()
            got = list(store.list())
            remote_t.append(time.perf_counter() - t)
            assert len(got) == n
        ours = median(merged_t)
        peer = median(local_t) + median(remote_t)
        print('merged %s s; plain local %s s; plain remote %s s' % (
            [round(x, 3) for x in merged_t], [round(x, 3) for x in local_t],
            [round(x, 3) for x in remote_t]))
        report('shunt_listing', ours, peer, 's',
               'ratio >= 0.77 (merge overhead <= 30%)',
               higher_is_better=False, entries_local=n, entries_remote=n,
               page=10000, runs=runs,
               local_s=round(median(local_t), 3),
               remote_s=round(median(remote_t), 3))


if __name__ == '__main__':
    main()
