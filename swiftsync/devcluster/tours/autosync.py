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

"""Chapter: three clusters, one namespace (the autosync filter and
``swiftsync reconcile``)."""

import json
import subprocess
import sys
import time
import uuid

from swiftclient.exceptions import ClientException

from swiftsync.devcluster import confs

TITLE = 'Autosync: one namespace across three clusters'
NEEDS = {'clusters': 3, 's3': []}


def _local(tour, name, cont):
    """The container's headers on cluster ``name`` itself, or None."""
    try:
        h = tour.swift(name).head_container(cont)
    except ClientException as e:
        if e.http_status == 404:
            return None
        raise
    return None if 'x-swiftsync-forwarded-to' in h else h


def _wait(fn, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return True
        time.sleep(0.5)
    return False


def run(tour):
    if 'autosync' not in tour.env['filters']:
        tour.show('the autosync filter is not installed: chapter skipped')
        return
    dep = tour.deployment
    suffix = uuid.uuid4().hex[:6]
    cont = 'photos-' + suffix
    daemons = dep.start_swift_daemon('container-sync')
    try:
        _namespace(tour, cont)
        _placement(tour, suffix)
        _repair(tour, dep, 'albums-' + suffix)
    finally:
        dep.procs.stop(daemons)


def _namespace(tour, cont):
    tour.step('A container created on c1 appears on c1, c2 and c3')
    tour.swift('c1').put_container(cont)
    for name in ('c1', 'c2', 'c3'):
        h = _local(tour, name, cont)
        tour.check(h is not None, '%s holds %s; syncs to %s' % (
            name, cont, h and h['x-container-sync-to']))

    tour.step('An object written on c1 is read on c3 at once (read-through), '
              'then container sync makes it local on c3')
    tour.swift('c1').put_object(cont, 'cat.jpg', b'meow' * 256)
    resp = {}
    _, body = tour.swift('c3').get_object(cont, 'cat.jpg',
                                          response_dict=resp)
    via = resp['headers'].get('x-swiftsync-read-through')
    tour.check(body == b'meow' * 256, 'c3: GET cat.jpg -> %d bytes, read '
               'through %s' % (len(body), via))

    def local_on_c3():
        r = {}
        try:
            tour.swift('c3').get_object(cont, 'cat.jpg', response_dict=r)
        except ClientException:
            return False
        return 'x-swiftsync-read-through' not in r['headers']
    started = time.time()
    tour.check(_wait(local_on_c3), 'c3 has its own copy after %.0f s '
               '(c1 -> c2 -> c3)' % (time.time() - started))


def _placement(tour, suffix):
    tour.step('X-Container-Placement: c1,c3 keeps a container off c2; c2 '
              'still serves it')
    cont = 'private-' + suffix
    tour.swift('c1').put_container(cont, headers={
        'X-Container-Placement': 'c1,c3'})
    tour.swift('c2').put_object(cont, 'note.txt', b'written through c2')
    h = tour.swift('c2').head_container(cont)
    tour.check(_local(tour, 'c2', cont) is None and
               h.get('x-swiftsync-forwarded-to') == 'c1',
               'c2 forwards to c1; the object written through c2 is in c1: '
               '%r' % tour.swift('c1').get_object(cont, 'note.txt')[1])
    try:
        tour.swift('c1').put_container('bad-' + suffix, headers={
            'X-Container-Placement': 'c1,c9'})
        tour.check(False, 'unknown cluster refused')
    except ClientException as e:
        tour.check(e.http_status == 400, 'X-Container-Placement: c1,c9 -> '
                   '%d %s' % (e.http_status,
                              e.http_response_content.decode().strip()))


def _repair(tour, dep, cont):
    c1 = tour.cluster('c1')
    tour.step('c2 goes down; with consistency = eventual on c1 a container '
              'PUT succeeds and is queued for c2')
    confs.set_cluster_keys(c1['swiftsync_conf'], 'c2',
                           consistency='eventual')
    dep.procs.stop(['c1-proxy'])
    dep.restart('c1-proxy')
    dep.procs.stop(['c2-proxy'])
    try:
        resp = {}
        tour.swift('c1').put_container(cont, response_dict=resp)
        tour.check(resp['headers'].get('x-swiftsync-pending') == 'c2',
                   'c1: PUT %s -> %d, X-Swiftsync-Pending: %s' % (
                       cont, resp['status'],
                       resp['headers'].get('x-swiftsync-pending')))
    finally:
        dep.restart('c2-proxy')
    tour.step('c2 is back: swiftsync reconcile --once replays the queue')
    tour.show('$ swiftsync reconcile %s --once --account %s' % (
        c1['swiftsync_conf'], c1['account']))
    out = subprocess.run(
        [sys.executable, '-m', 'swiftsync.cli.main', 'reconcile',
         c1['swiftsync_conf'], '--once', '--account', c1['account']],
        capture_output=True, text=True, timeout=120)
    report = json.loads(out.stdout or '{}')
    tour.show('  queue: %s' % json.dumps(report.get('queue')))
    h1, h2 = _local(tour, 'c1', cont), _local(tour, 'c2', cont)
    tour.check(out.returncode == 0 and h2 is not None and
               h2['x-container-sync-key'] == h1['x-container-sync-key'],
               'c2 holds %s, with the same sync key as c1' % cont)
    confs.set_cluster_keys(c1['swiftsync_conf'], 'c2', consistency='strict')
    dep.procs.stop(['c1-proxy'])
    dep.restart('c1-proxy')
