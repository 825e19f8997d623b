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

"""Chapter: container sync between two clusters in one command, and a key
rotation while objects keep flowing."""

import os
import subprocess
import sys
import threading
import time

TITLE = 'Container sync in one command: swiftsync keys'
NEEDS = {'clusters': 2, 's3': []}

SRC, DST = 'keys-src', 'keys-dst'


def cli(tour, *args):
    tour.show('$ swiftsync keys ' + ' '.join(args))
    out = subprocess.run(
        [sys.executable, '-m', 'swiftsync.cli.main', 'keys'] + list(args),
        capture_output=True, text=True, timeout=120)
    for line in (out.stdout + out.stderr).splitlines():
        tour.show('  ' + line)
    return out


def wait_for(fn, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return True
        time.sleep(0.3)
    return fn()


def run(tour):
    c1, c2 = tour.clusters[:2]
    dep = tour.deployment
    daemons = dep.start_swift_daemon('container-sync')
    try:
        _run(tour, c1, c2, dep)
    finally:
        dep.procs.stop(daemons)


def _run(tour, c1, c2, dep):
    profiles = os.path.join(dep.workdir, 'profiles.conf')
    with open(profiles, 'w') as f:
        for c in (c1, c2):
            f.write('[profile:%s]\nauth = %s\nuser = %s\nkey = %s\n\n' % (
                c['name'], c['auth_url'], c['user'], c['key']))
    tour.step('Two accounts on two clusters, described once in a profiles '
              'file (%s)' % profiles)
    tour.show("Swift's container-sync daemon runs on every node (every 5 s).")
    src, dst = tour.swift(c1), tour.swift(c2)
    if 'autosync' in tour.env['filters']:
        # autosync would mirror each container to both clusters and sync
        # them itself: place each on one cluster only
        src.put_container(SRC, headers={'X-Container-Placement': c1['name']})
        dst.put_container(DST, headers={'X-Container-Placement': c2['name']})
        tour.show('(%s placed on %s and %s on %s only, so that autosync '
                  'leaves their sync to us)' % (SRC, c1['name'], DST,
                                                c2['name']))

    tour.step("Seed 000's tutorial (openssl, swift post twice, swift --debug "
              "stat) in one command")
    out = cli(tour, 'link', '--profiles', profiles, '%s:%s' % (c1['name'],
                                                               SRC),
              '%s:%s' % (c2['name'], DST))
    tour.check(out.returncode == 0, 'link exited 0')
    key = src.head_container(SRC)['x-container-sync-key']
    tour.check(dst.head_container(DST)['x-container-sync-key'] == key and
               key not in out.stdout,
               'both containers hold the same 256-bit key; it was not '
               'printed')
    for i in range(3):
        src.put_object(SRC, 'photo-%d.jpg' % i, b'pixels %d' % i)
    tour.check(wait_for(lambda: len(dst.get_container(DST)[1]) == 3, 30),
               '3 objects written on %s arrived on %s' % (c1['name'],
                                                          c2['name']))

    tour.step('Rotate the key while a writer keeps adding objects')
    log = dep.procs.log_path(c2['name'] + '-proxy')
    since = os.path.getsize(log)
    written, stop = [], threading.Event()

    def writer():
        conn = tour.swift(c1)
        while not stop.is_set():
            name = 'stream-%04d' % len(written)
            conn.put_object(SRC, name, name.encode())
            written.append(name)
            time.sleep(0.05)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        time.sleep(2)
        out = cli(tour, 'rotate', '--profiles', profiles,
                  '%s:%s' % (c1['name'], SRC), '%s:%s' % (c2['name'], DST))
        time.sleep(3)
    finally:
        stop.set()
        thread.join()
    tour.check(out.returncode == 0, 'rotate exited 0')
    new_key = src.head_container(SRC)['x-container-sync-key']
    tour.check(new_key != key and
               dst.head_container(DST)['x-container-sync-key'] == new_key,
               'both containers hold a new key')
    wanted = set(written)
    tour.check(wait_for(lambda: wanted <= {
        o['name'] for o in dst.get_container(DST, full_listing=True)[1]},
        60), 'all %d objects written during the rotation arrived on %s'
        % (len(written), c2['name']))
    with open(log, errors='replace') as f:
        f.seek(since)
        lines = [line for line in f if '/%s/' % DST in line]
    refused = [line for line in lines if ' 401 ' in line]
    tour.check(not refused, 'no container-sync request was refused (401) '
               'during the rotation')

    tour.step('Audit every Sync-To of the account')
    out = cli(tour, 'audit', '--profiles', profiles, c1['name'])
    tour.check(any(line.startswith('OK') and ' %s -> ' % SRC in line
                   for line in out.stdout.splitlines()),
               'the audit finds %s in order' % SRC)
