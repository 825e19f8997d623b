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

"""Demo chapter: a container opts in to cloud sync, the daemon copies it to
the S3 bucket, and an archive container moves its objects there."""

import hashlib
import json
import os
import subprocess
import sys

TITLE = 'Cloud sync: a container flows to S3, another is archived'
NEEDS = {'clusters': 1, 's3': ['seaweedfs']}


def _swiftsync(*args):
    exe = os.path.join(os.path.dirname(sys.executable), 'swiftsync')
    proc = subprocess.run([exe] + list(args), capture_output=True,
                          text=True, timeout=300)
    return proc


def _prefix(account, container):
    digest = hashlib.md5(('%s/%s' % (account, container)).encode('utf-8'))
    return '%x/%s/%s/' % (int(digest.hexdigest(), 16) % 16 ** 6, account,
                          container)


def _keys(client, bucket, prefix):
    resp = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o['Key'][len(prefix):] for o in resp.get('Contents', [])]


def run(tour):
    c1 = tour.clusters[0]
    conf = c1['nodes'][0]['swiftsync_conf']
    account = c1['account']
    conn = tour.swift(c1)
    client, bucket = tour.s3('seaweedfs')

    tour.step('The owner opts a container in: X-Container-Cloud-Sync-Target')
    conn.put_container('photos', headers={
        'X-Container-Cloud-Sync-Target': 's3'})
    head = conn.head_container('photos')
    tour.show('HEAD photos -> X-Container-Cloud-Sync-Target: %s'
              % head.get('x-container-cloud-sync-target'))
    for name in ('cat.jpg', 'dog.jpg', 'holiday/beach.jpg'):
        conn.put_object('photos', name, b'pixels of ' + name.encode(),
                        content_type='image/jpeg',
                        headers={'X-Object-Meta-Camera': 'pinhole'})
    tour.show('uploaded cat.jpg, dog.jpg, holiday/beach.jpg')

    tour.step('The daemon of the container node runs one pass: '
              'swiftsync sync %s --once' % conf)
    proc = _swiftsync('sync', conf, '--once')
    tour.check(proc.returncode == 0, 'swiftsync sync exited 0')
    prefix = _prefix(account, 'photos')
    keys = _keys(client, bucket, prefix)
    tour.show('s3://%s/%s: %s' % (bucket, prefix, ', '.join(keys)))
    tour.check(sorted(keys) == ['cat.jpg', 'dog.jpg', 'holiday/beach.jpg'],
               'the three objects are in the bucket')
    meta = client.head_object(Bucket=bucket, Key=prefix + 'cat.jpg')
    tour.check(meta['Metadata'].get('camera') == 'pinhole',
               'with their metadata (x-amz-meta-camera: pinhole)')

    tour.step('A delete flows too')
    conn.delete_object('photos', 'dog.jpg')
    _swiftsync('sync', conf, '--once')
    keys = _keys(client, bucket, prefix)
    tour.check('dog.jpg' not in keys, 'dog.jpg is gone from the bucket')

    tour.step('An archive container: objects older than After are moved')
    conn.put_container('old-logs', headers={
        'X-Container-Cloud-Sync-Target': 's3',
        'X-Container-Cloud-Sync-Mode': 'archive',
        'X-Container-Cloud-Sync-After': '0'})
    conn.put_object('old-logs', '2025-01-01.log', b'a quiet day\n')
    before = int(conn.head_container('old-logs')['x-container-object-count'])
    tour.show('old-logs holds %d object locally' % before)
    _swiftsync('sync', conf, '--once')
    prefix = _prefix(account, 'old-logs')
    keys = _keys(client, bucket, prefix)
    tour.check(keys == ['2025-01-01.log'], 'archived to s3://%s/%s%s'
               % (bucket, prefix, keys[0] if keys else '?'))
    after = int(conn.head_container('old-logs')['x-container-object-count'])
    tour.check(after == 0, 'and removed locally (object count %d -> %d)'
               % (before, after))
    body = conn.get_object('old-logs', '2025-01-01.log')[1]
    tour.check(body == b'a quiet day\n', 'a GET still answers: %r (the '
               'shunt reads it from S3)' % body)

    tour.step('swiftsync status %s' % conf)
    proc = _swiftsync('status', conf)
    for line in proc.stdout.splitlines():
        tour.show(line)
    rows = json.loads(_swiftsync('status', conf, '--json').stdout)
    mine = [r for r in rows if r['container'] in ('photos', 'old-logs')]
    tour.check(len(mine) == 2 and not any(
        r['last_error'] or r['rows_pending'] for r in mine),
        'photos and old-logs: nothing pending, no error')
