"""``swiftsync sync`` and ``swiftsync status`` on containers sharded by
Swift's own sharder, against real servers: one cluster with 3 replicas (3
container nodes, a daemon on each) and SeaweedFS.

A container is sharded as an operator does it: ``swift-manage-shard-ranges
DB find_and_replace N --enable --yes`` on one replica, then
``swift-container-sharder --once`` on every node until every replica of the
root is ``sharded`` (:meth:`Deployment.shard`).

Uploads are counted twice: by the daemons' own counters (the ``objects``
stat of ``swiftsync status``, which keeps the counts of the root's retired
DB) and by S3 itself (an object not uploaded again keeps its LastModified).
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from swiftsync.devcluster import Deployment
from swiftsync.devcluster.derive import derive_conf

from test.integration.clients import s3_client, swift
from test.integration.test_sync_daemon import s3_key, s3_objects

SWIFTSYNC = os.path.join(os.path.dirname(sys.executable), 'swiftsync')
OPTIN = 'X-Container-Cloud-Sync-'
#: figures of the run, printed at the end (pytest -s) and kept in the
#: work dir as sharding-figures.json
FIGURES = {}


@pytest.fixture(scope='module')
def sharding(tmp_path_factory, base_port):
    dep = Deployment(str(tmp_path_factory.mktemp('sharding')))
    dep.up(clusters=1, replicas=3, s3='seaweedfs', base_port=base_port + 700)
    yield dep
    with open(os.path.join(dep.workdir, 'sharding-figures.json'), 'w') as f:
        json.dump(FIGURES, f, indent=2, sort_keys=True)
    print('\nsharding figures: ' + json.dumps(FIGURES, indent=2,
                                              sort_keys=True))
    dep.down()


def confs_of(env, tmp_path):
    # each node copies its own share at once; the verification of the
    # others' share (after the slack) is not what these tests look at
    return [derive_conf(node['swiftsync_conf'], tmp_path / ('n%d.conf' % i),
                        verify_slack='600')
            for i, node in enumerate(env['clusters'][0]['nodes'])]


def sync_all(confs):
    """One ``swiftsync sync --once`` per node, one after the other; the
    seconds it took."""
    began = time.time()
    for conf in confs:
        proc = subprocess.run([SWIFTSYNC, 'sync', conf, '--once', '-v'],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    return round(time.time() - began, 2)


def status_of(conf, account, container):
    proc = subprocess.run([SWIFTSYNC, 'status', conf, '--json'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    rows = [s for s in json.loads(proc.stdout)
            if (s['account'], s['container']) == (account, container)]
    assert len(rows) == 1, rows   # one row per container, shards inside
    table = subprocess.run([SWIFTSYNC, 'status', conf], capture_output=True,
                           text=True, timeout=120).stdout
    line = [ln for ln in table.splitlines()
            if ln.startswith('%s/%s ' % (account, container))]
    return rows[0], line[0] if line else None


def statuses(confs, account, container):
    return [status_of(conf, account, container)[0] for conf in confs]


def total(rows, stat):
    return sum(r['stats'].get(stat, 0) for r in rows)


def s3_listing(env, account, container):
    """{name: (etag, LastModified)} of the container's remote place."""
    return {name: (obj['ETag'], obj['LastModified']) for name, obj in
            s3_objects(env, 'seaweedfs', account, container).items()}


def s3_head(env, account, container, name):
    creds = env['s3_servers']['seaweedfs']
    return s3_client(creds).head_object(
        Bucket=creds['bucket'], Key=s3_key(account, container, name))


def put_many(cl, container, names, workers=6):
    def put(chunk):
        conn = swift(cl)
        for name in chunk:
            conn.put_object(container, name, b'body of ' + name.encode())
    chunks = [names[i::workers] for i in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(put, chunks))


def delete_many(cl, container, names, workers=6):
    def delete(chunk):
        conn = swift(cl)
        for name in chunk:
            conn.delete_object(container, name)
    chunks = [names[i::workers] for i in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(delete, chunks))


def shard_dbs_of(dep, account, container):
    """{node index: number of shard DBs of the container there}."""
    from swift.container.backend import ContainerBroker
    out = {}
    for node in dep.env['clusters'][0]['nodes']:
        n = 0
        import glob
        for path in glob.glob(os.path.join(node['devices'], '*',
                                           'containers', '*', '*', '*',
                                           '*.db')):
            b = ContainerBroker(path, force_db_file=True, skip_commits=True)
            info = b.get_info()
            if info['account'] == '.shards_' + account and \
                    b.root_path == '%s/%s' % (account, container):
                n += 1
        out[node['index']] = n
    return out


def test_a_sharded_container_keeps_syncing_without_uploading_twice(
        sharding, tmp_path):
    dep, env = sharding, sharding.env
    cl = env['clusters'][0]
    account = cl['account']
    conn = swift(cl)
    c = 'sharded-' + uuid.uuid4().hex[:8]
    conn.put_container(c, headers={OPTIN + 'Target': 's3'})
    originals = ['o%03d' % i for i in range(300)]
    put_many(cl, c, originals)
    confs = confs_of(env, tmp_path)
    figures = FIGURES.setdefault('synced_then_sharded', {})

    # 1. before sharding: every object once, shared among the 3 nodes
    figures['pass_before_sharding_seconds'] = sync_all(confs)
    before = s3_listing(env, account, c)
    assert sorted(before) == originals
    rows = statuses(confs, account, c)
    assert total(rows, 'objects') == 300, [r['stats'] for r in rows]
    assert all(r['rows_pending'] == 0 and r['rows_synced'] == 300
               for r in rows), rows
    figures['status_before_sharding'] = status_of(confs[0], account, c)[1]

    # 2. Swift's sharder shards it: 3 shards of 100 rows
    done = dep.shard(account, c, rows_per_shard=100)
    figures['sharding'] = {'rounds': done['rounds'],
                           'seconds': round(done['seconds'], 2),
                           'shard_ranges': len(done['shard_ranges'])}
    assert len(done['shard_ranges']) == 3
    assert shard_dbs_of(dep, account, c) == {1: 3, 2: 3, 3: 3}
    # the sharded root holds no object row: never an empty container
    assert sorted(s3_listing(env, account, c)) == originals
    row, line = status_of(confs[0], account, c)
    figures['status_after_sharding'] = line
    assert row['shards'] == 3 and row['pending_note'] is None
    # the 300 rows cleaved into the shards are pending until compared
    assert row['rows_pending'] == 300, row
    assert row['stats'].get('objects', 0) > 0   # the retired root DB's

    # 3. changes after sharding: 100 new objects (over every shard), 50
    # deletes, one POST. A HEAD through the proxy first: until its cached
    # container info (memcache, recheck_container_existence) says the
    # container is sharded, the proxy sends object updates to the root DB,
    # where they wait as misplaced objects for the sharder to move them
    # (Swift's design), so the count below would depend on the cache's age.
    conn.head_container(c)
    new = ['o%03dx' % i for i in range(0, 300, 3)]
    gone = ['o%03d' % i for i in range(1, 300, 6)]
    put_many(cl, c, new)
    delete_many(cl, c, gone)
    conn.post_object(c, 'o002', {'X-Object-Meta-Color': 'blue'})
    row, line = status_of(confs[0], account, c)
    figures['status_before_pass'] = line
    # 300 cleaved + 100 new rows; a delete or a POST replaces its row
    assert row['rows_pending'] == 400, row
    assert row['pending_note'] is None

    # 4. one pass on every node
    uploads_before = total(statuses(confs, account, c), 'objects')
    figures['pass_after_sharding_seconds'] = sync_all(confs)
    rows = statuses(confs, account, c)
    figures['uploads_in_pass_after_sharding'] = \
        total(rows, 'objects') - uploads_before
    figures['deletes_in_pass_after_sharding'] = total(rows, 'deletes')
    figures['metadata_in_pass_after_sharding'] = total(rows, 'metadata')
    after = s3_listing(env, account, c)
    expected = sorted(set(originals) - set(gone) | set(new))
    assert sorted(after) == expected
    figures['objects_on_s3'] = {'before_sharding': len(before),
                                'after_pass': len(after)}
    assert figures['uploads_in_pass_after_sharding'] == 100
    assert figures['deletes_in_pass_after_sharding'] == 50
    assert figures['metadata_in_pass_after_sharding'] == 1
    head = s3_head(env, account, c, 'o002')
    assert head['Metadata'].get('color') == 'blue', head['Metadata']
    # S3 itself: no object synced before the sharding was written again
    kept = [n for n in originals if n not in gone and n != 'o002']
    rewritten = [n for n in kept if after[n][1] != before[n][1]]
    assert rewritten == []
    figures['originals_rewritten_on_s3'] = len(rewritten)
    for r in rows:
        assert r['rows_pending'] == 0 and r['pending_note'] is None, r
        assert r['shards'] == 3
    figures['status_after_pass'] = status_of(confs[0], account, c)[1]
    assert total(rows, 'objects') == 400


def test_sharding_before_the_rows_are_synced_loses_nothing(sharding,
                                                           tmp_path):
    """Only one node synced its share when the container is sharded: the
    rest is copied from the shard DBs, and nothing twice."""
    dep, env = sharding, sharding.env
    cl = env['clusters'][0]
    account = cl['account']
    c = 'midway-' + uuid.uuid4().hex[:8]
    swift(cl).put_container(c, headers={OPTIN + 'Target': 's3'})
    names = ['m%03d' % i for i in range(240)]
    put_many(cl, c, names)
    confs = confs_of(env, tmp_path)
    sync_all(confs[:1])
    first = len(s3_listing(env, account, c))
    assert 0 < first < 240
    done = dep.shard(account, c, rows_per_shard=80)
    assert len(done['shard_ranges']) == 3
    seconds = sync_all(confs)
    assert sorted(s3_listing(env, account, c)) == names
    rows = statuses(confs, account, c)
    assert total(rows, 'objects') == 240, [r['stats'] for r in rows]
    assert all(r['rows_pending'] == 0 for r in rows), rows
    FIGURES['sharded_midway'] = {'synced_before_sharding': first,
                                 'uploads_after_sharding': 240 - first,
                                 'pass_seconds': seconds}
