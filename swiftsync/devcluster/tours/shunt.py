# Copyright (c) 2026 swiftsync authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
# implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Demo chapter: archived objects still answer through the proxy (the
shunt): listing, GET, a range, restore on GET."""

import os
import subprocess
import sys
import time

import requests

TITLE = 'The shunt: archived objects answer GET, listings splice'
NEEDS = {'clusters': 1, 's3': ['seaweedfs']}

CONTAINER = 'archive-tour'


def _sync_once(conf):
    exe = os.path.join(os.path.dirname(sys.executable), 'swiftsync')
    return subprocess.run([exe, 'sync', conf, '--once'],
                          capture_output=True, text=True, timeout=300)


def _restart_proxy(tour, c1):
    procs = tour.deployment.procs
    procs.stop([c1['name'] + '-proxy'])
    procs.restart(c1['name'] + '-proxy')
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if requests.get(c1['proxy_url'] + '/healthcheck',
                            timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError('the proxy did not come back')


def run(tour):
    c1 = tour.clusters[0]
    conf = c1['nodes'][0]['swiftsync_conf']
    conn = tour.swift(c1)
    url, token = conn.get_auth()

    tour.step('Archive: a container in archive mode, two objects, one '
              'daemon pass')
    conn.put_container(CONTAINER, headers={
        'X-Container-Cloud-Sync-Target': 's3',
        'X-Container-Cloud-Sync-Mode': 'archive',
        'X-Container-Cloud-Sync-After': '0'})
    report = b''.join(b'line %04d of the 2025 report\n' % i
                      for i in range(200))
    conn.put_object(CONTAINER, '2025/report.txt', report,
                    content_type='text/plain',
                    headers={'X-Object-Meta-Owner': 'finance'})
    conn.put_object(CONTAINER, '2025/summary.txt', b'all good\n',
                    content_type='text/plain')
    proc = _sync_once(conf)
    tour.check(proc.returncode == 0, 'swiftsync sync --once exited 0')
    count = int(conn.head_container(CONTAINER)['x-container-object-count'])
    tour.check(count == 0, 'both objects moved to S3 (local object count %d)'
               % count)
    conn.put_object(CONTAINER, '2026/new.txt', b'fresh\n',
                    content_type='text/plain')
    tour.show('and a new object, 2026/new.txt, stays local for now')

    tour.step('List the container: local and archived entries, merged')
    _, listing = conn.get_container(CONTAINER)
    for e in listing:
        tour.show('%-18s %5d bytes  %s' % (
            e['name'], e['bytes'],
            'in ' + e['content_location'] if e.get('content_location')
            else 'local'))
    tour.check([e['name'] for e in listing] == [
        '2025/report.txt', '2025/summary.txt', '2026/new.txt'],
        'each name once, in order')
    _, dirs = conn.get_container(CONTAINER, delimiter='/')
    tour.check([d.get('subdir') for d in dirs] == ['2025/', '2026/'],
               'delimiter=/ -> %s' % ', '.join(d['subdir'] for d in dirs))

    tour.step('GET an archived object through the same proxy')
    hdrs, body = conn.get_object(CONTAINER, '2025/report.txt')
    tour.show('X-Cloud-Sync-Location: %s, X-Object-Meta-Owner: %s, '
              'Etag: %s' % (hdrs['x-cloud-sync-location'],
                            hdrs['x-object-meta-owner'], hdrs['etag']))
    tour.check(body == report, 'GET 2025/report.txt -> %d bytes, the same'
               % len(body))

    tour.step('A range of it')
    hdrs, body = conn.get_object(CONTAINER, '2025/report.txt',
                                 headers={'Range': 'bytes=29-57'})
    tour.show('Content-Range: %s -> %r' % (hdrs['content-range'], body))
    tour.check(body == report[29:58], 'Range: bytes=29-57 as Swift answers')

    tour.step('Without permission: nothing (anonymous -> 401)')
    r = requests.get('%s/%s/2025/report.txt' % (url, CONTAINER), timeout=30)
    tour.check(r.status_code == 401, 'anonymous GET -> %d' % r.status_code)

    tour.step('Restore on GET: the operator sets restore = true on a '
              '[mapping:] (proxy restarted to read it)')
    with open(c1['swiftsync_conf'], 'a') as f:
        f.write('\n[mapping:tour-restore]\naccount = %s\ncontainer = %s\n'
                'target = s3\nmode = archive\nafter = 365d\n'
                'restore = true\n' % (c1['account'], CONTAINER))
    _restart_proxy(tour, c1)
    conn = tour.swift(c1)
    _, body = conn.get_object(CONTAINER, '2025/summary.txt')
    tour.show('GET 2025/summary.txt -> %r (served from S3 and written back)'
              % body)
    deadline = time.time() + 15
    while True:
        r = requests.get('%s/%s/2025/summary.txt' % (url, CONTAINER),
                         headers={'X-Auth-Token': token,
                                  'X-Cloud-Sync-Bypass': 'true'},
                         timeout=30)
        if r.status_code == 200 or time.time() > deadline:
            break
        time.sleep(0.2)
    tour.check(r.status_code == 200 and r.content == body,
               'X-Cloud-Sync-Bypass: true shows it local again')
    count = int(conn.head_container(CONTAINER)['x-container-object-count'])
    tour.check(count == 2, 'local object count %d (new.txt, summary.txt)'
               % count)
