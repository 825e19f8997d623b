"""The CONTAINER-SYNC part of ``swiftsync status`` against two real
autosync clusters, before and after Swift's own container-sync ran."""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import swiftclient
from swift.container.backend import ContainerBroker

from swiftsync.devcluster import Deployment
from test.integration.test_devcluster import wait_for

BASE_PORT = int(os.environ.get('SWIFTSYNC_TEST_BASE_PORT', '9600')) + 1500
SWIFTSYNC = [sys.executable, '-m', 'swiftsync.cli.main']


@pytest.fixture(scope='module')
def dep(tmp_path_factory):
    d = Deployment(str(tmp_path_factory.mktemp('csync')))
    # default filters (autosync among them); container-sync is NOT running:
    # the test runs it itself, one pass at a time
    d.up(clusters=2, replicas=1, s3='none', base_port=BASE_PORT)
    try:
        yield d
    finally:
        d.down()


def status(conf, *args):
    """(exit status, stdout) of ``swiftsync status CONF ARGS``."""
    p = subprocess.run(SWIFTSYNC + ['status', conf] + list(args),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr
    return p.returncode, p.stdout


def csync_line(out, account, container):
    lines = [ln for ln in out.splitlines()
             if ln.startswith('  %s/%s ' % (account, container))]
    return lines[-1].strip() if lines else None


def container_sync_once(dep, cluster):
    """One pass of Swift's container-sync on every node of a cluster."""
    for node in cluster['nodes']:
        subprocess.run([sys.executable, '-m', 'swiftsync.devcluster.swiftd',
                        'container-sync', node['container_server_conf'],
                        '--once'], check=True, capture_output=True,
                       timeout=120)


def names_in_dbs(dep, account, container, cluster):
    """Object names (live rows) in the container's DBs of a cluster, read
    from the DBs: no proxy, so no autosync read-through."""
    names = set()
    for paths in dep.container_dbs(account, container,
                                   cluster=cluster).values():
        for path in paths:
            broker = ContainerBroker(path)
            names.update(r[0] for r in broker.list_objects_iter(
                100, '', None, None, None))
    return names


def test_status_reports_container_sync_progress(dep):
    env = dep.env
    c1, c2 = env['clusters']
    conf = c1['nodes'][0]['swiftsync_conf']
    conn = swiftclient.Connection(c1['auth_url'], c1['user'], c1['key'],
                                  retries=0)
    cont = 'csync-' + uuid.uuid4().hex[:8]
    conn.put_container(cont)          # autosync: mirrored, Sync-To set
    assert conn.head_container(cont)['x-container-sync-to'].endswith(
        '/c2/%s/%s' % (c1['account'], cont))
    for name in ('a', 'b', 'gone'):
        conn.put_object(cont, name, b'data of ' + name.encode())
    conn.delete_object(cont, 'gone')  # a tombstone to carry too
    time.sleep(1.1)

    # never visited: every row (3, the tombstone replaced the row of
    # 'gone') is behind
    rc, out = status(conf)
    print(out)
    line = csync_line(out, c1['account'], cont)
    assert line is not None, out
    assert line.startswith('%s/%s  -> c2  not visited by container-sync '
                           'yet (3 rows, oldest ' % (c1['account'], cont))
    assert rc == 0, out
    rc, out = status(conf, '--container-sync', '--json')
    entry = [e for e in json.loads(out)['container_sync']
             if e['container'] == cont][0]
    assert (entry['state'], entry['peer'], entry['rows_behind']) == (
        'not_visited', 'c2', 3)
    assert entry['seconds_behind'] >= 1
    # the --autosync report: its text as it was, its JSON with the key
    rc, out = status(conf, '--autosync')
    assert 'CONTAINER-SYNC' not in out and out.startswith('AUTOSYNC'), out
    report = json.loads(status(conf, '--autosync', '--json')[1])
    assert {'queue', 'differences', 'container_sync'} <= set(report)
    assert cont in [e['container'] for e in report['container_sync']]

    # a first pass sends the rows (sync_point1) without checking them:
    # still behind, never "in sync"
    container_sync_once(dep, c1)
    rc, out = status(conf)
    print(out)
    line = csync_line(out, c1['account'], cont)
    assert ' -> c2  3 rows / ' in line and line.endswith(
        'behind (3 of them reached, not verified yet)'), line
    assert wait_for(lambda: names_in_dbs(dep, c1['account'], cont, 1) ==
                    {'a', 'b'}, timeout=10)

    # the second pass verifies them (sync_point2): in sync
    container_sync_once(dep, c1)
    rc, out = status(conf)
    print(out)
    assert csync_line(out, c1['account'], cont) == '%s/%s  -> c2  in sync' \
        % (c1['account'], cont)
    assert rc == 0, out

    # a new write is behind again, and not reached
    conn.put_object(cont, 'c', b'later')
    rc, out = status(conf, '--container-sync')
    print(out)
    line = csync_line(out, c1['account'], cont)
    assert line.startswith('%s/%s  -> c2  1 row / ' % (c1['account'], cont))
    assert line.endswith('s behind'), line
    # the copy on c2 syncs towards c1; its container-sync has not run
    conf2 = c2['nodes'][0]['swiftsync_conf']
    rc, out = status(conf2, '--container-sync')
    print(out)
    assert csync_line(out, c2['account'], cont).startswith(
        '%s/%s  -> c1  not visited by container-sync yet ('
        % (c2['account'], cont)), out
