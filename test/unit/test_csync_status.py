"""The CONTAINER-SYNC part of ``swiftsync status``: container-sync progress
read from real container DBs (ContainerBroker on a tmp dir)."""

import socket
import time

import pytest
from swift.common.middleware.versioned_writes.object_versioning import (
    SYSMETA_VERSIONS_CONT)
from swift.common.utils import Timestamp, get_logger
from swift.container.backend import SHARDED, ContainerBroker

from swiftsync.cli.status import render_csync
from swiftsync.config import Cluster
from swiftsync.daemon import csync_status as cs
from swiftsync.daemon.sync import LocalDB

SYNC_TO = '//dev/c2/AUTH_a/c'
CLUSTERS = {'c2': Cluster(name='c2', proxy_url='http://x', secret='s',
                          realm='dev')}


@pytest.fixture
def broker(tmp_path):
    b = ContainerBroker(str(tmp_path / 'c.db'), account='AUTH_a',
                        container='c')
    b.initialize(Timestamp.now().internal, 0)
    return b


def put(broker, name, age=0.0, deleted=0):
    broker.put_object(name, Timestamp(time.time() - age).internal, 3,
                      'text/plain', 'etag', deleted=deleted)
    broker.get_info()   # commits the .pending file, as a read would


def mirror(broker, sync_to=SYNC_TO, key='secret'):
    now = Timestamp.now().internal
    meta = {'X-Container-Sync-To': (sync_to, now)}
    if key:
        meta['X-Container-Sync-Key'] = (key, now)
    broker.update_metadata(meta)


def state(broker, **kw):
    """The entry of the DB as ``swiftsync status`` reads it now."""
    db = LocalDB(broker.db_file, broker, broker.get_info(), 0, 1, **kw)
    return cs.csync_state(db, CLUSTERS)


def test_no_sync_to_is_not_reported(broker):
    put(broker, 'o')
    assert state(broker) is None
    mirror(broker, sync_to='')   # Sync-To removed ('' in the metadata)
    assert state(broker) is None


def test_never_visited_counts_every_row_and_the_oldest(broker):
    mirror(broker)
    put(broker, 'a', age=12)
    put(broker, 'b', age=5)
    put(broker, 'gone', deleted=1)   # a tombstone is a change to carry
    e = state(broker)
    assert (e['state'], e['peer'], e['rows_behind']) == (
        cs.NOT_VISITED, 'c2', 3)
    assert 11 <= e['seconds_behind'] <= 14
    assert (e['sync_point1'], e['sync_point2']) == (-1, -1)


def test_sync_point2_is_the_only_verified_point(broker):
    """The second stage of container-sync moves sync_point1 past rows it
    sent without looking at the outcome: those rows are still behind until
    the first stage verified them (sync_point2)."""
    mirror(broker)
    for name in 'abc':
        put(broker, name, age=20)
    top = broker.get_max_row()
    broker.set_x_container_sync_points(top, -1)
    e = state(broker)
    assert (e['state'], e['rows_behind'], e['rows_not_reached']) == (
        cs.BEHIND, 3, 0)
    broker.set_x_container_sync_points(top, top)
    e = state(broker)
    assert (e['state'], e['rows_behind'], e['seconds_behind']) == (
        cs.IN_SYNC, 0, 0.0)
    # a new write and a delete after the points: behind again, not reached
    put(broker, 'd', age=7)
    put(broker, 'a', deleted=1)
    e = state(broker)
    assert (e['state'], e['rows_behind'], e['rows_not_reached']) == (
        cs.BEHIND, 2, 2)
    assert 6 <= e['seconds_behind'] <= 9


def test_an_overwrite_is_one_row_behind(broker):
    """A newer write replaces the object's row (new ROWID)."""
    mirror(broker)
    put(broker, 'a', age=30)
    top = broker.get_max_row()
    broker.set_x_container_sync_points(top, top)
    put(broker, 'a', age=1)
    e = state(broker)
    assert (e['state'], e['rows_behind']) == (cs.BEHIND, 1)
    assert e['seconds_behind'] < 5


def test_empty_container_is_in_sync(broker):
    mirror(broker)
    assert state(broker)['state'] == cs.IN_SYNC


@pytest.mark.parametrize('kw, meta, expected', [
    ({'state': SHARDED}, {}, cs.SHARDED),
    ({'root': ('AUTH_a', 'root')}, {}, cs.SHARDED),     # a shard DB
    ({}, {SYSMETA_VERSIONS_CONT: '\x00versions\x00c'}, cs.VERSIONED),
])
def test_containers_container_sync_does_not_carry(broker, kw, meta,
                                                  expected):
    mirror(broker)
    if meta:
        broker.update_metadata({k: (v, Timestamp.now().internal)
                                for k, v in meta.items()})
    put(broker, 'a')
    e = state(broker, **kw)
    assert e['state'] == expected
    assert e['rows_behind'] is None and e['reason']
    if expected == cs.SHARDED:
        assert e['reason'] == ('sharded: container-sync does not sync '
                               'sharded containers')


def test_no_key_and_bad_sync_to(broker):
    mirror(broker, key=None)
    assert state(broker)['state'] == cs.NO_KEY
    mirror(broker, sync_to='not a url')
    assert state(broker)['state'] == cs.BAD_SYNC_TO


def test_peer_of():
    assert cs.peer_of('//dev/c2/AUTH_a/c', CLUSTERS) == 'c2'
    named = {'west': Cluster(name='west', proxy_url='http://x', secret='s',
                             realm='DEV', sync_name='c2')}
    assert cs.peer_of('//dev/c2/AUTH_a/c', named) == 'west'
    assert cs.peer_of('//other/c2/AUTH_a/c', named) == 'c2'
    assert cs.peer_of('http://10.0.0.2:8080/v1/AUTH_a/c') == '10.0.0.2:8080'
    assert cs.peer_of('nonsense') is None


def entry(container, state, rows=None, seconds=None, not_reached=None,
          peer='c2', reason=None, replica='1/1'):
    return {'account': 'AUTH_test', 'container': container, 'peer': peer,
            'state': state, 'rows_behind': rows, 'seconds_behind': seconds,
            'rows_not_reached': rows if not_reached is None
            else not_reached, 'reason': reason, 'replica': replica}


def test_render():
    entries = [
        entry('a', cs.BEHIND, 340, 12.3),
        entry('b', cs.IN_SYNC, 0, 0.0),
        entry('c', cs.NOT_VISITED, 1, 75.0),
        entry('d', cs.BEHIND, 5, 3.0, not_reached=2, peer='c3'),
        entry('e', cs.SHARDED, reason='sharded: container-sync does not '
                                      'sync sharded containers'),
    ]
    assert render_csync(entries).splitlines() == [
        'CONTAINER-SYNC',
        '  AUTH_test/a  -> c2  340 rows / 12s behind',
        '  AUTH_test/b  -> c2  in sync',
        '  AUTH_test/c  -> c2  not visited by container-sync yet (1 row, '
        'oldest 1m15s)',
        '  AUTH_test/d  -> c3  5 rows / 3s behind (3 of them reached, not '
        'verified yet)',
        '  AUTH_test/e  -> c2  sharded: container-sync does not sync sharded '
        'containers',
    ]
    assert render_csync([]) == ('CONTAINER-SYNC: no container with '
                                'X-Container-Sync-To on this node')
    two = render_csync([entry('a', cs.IN_SYNC, 0, 0.0, replica='1/2'),
                        entry('a', cs.IN_SYNC, 0, 0.0, replica='2/2')])
    assert '  AUTH_test/a (replica 2/2)  -> c2  in sync' in two


def test_collect_groups_a_sharding_container_once(broker, tmp_path):
    """A sharding root has two DB files on the node: one line."""
    mirror(broker)
    info = broker.get_info()

    class Node(object):
        def local_dbs(self):
            for retiring in (True, False):
                yield LocalDB(broker.db_file, broker, info, 0, 1,
                              state='sharding', retiring=retiring)

    class Conf(object):
        clusters = CLUSTERS

    out = cs.collect_csync(Conf(), None, node=Node())
    assert [e['state'] for e in out] == [cs.SHARDED]


def test_gauges_per_peer(tmp_path):
    """Aggregated per peer (total rows, worst age, blocked containers),
    sent through the StatsD client of a real Swift logger."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(('127.0.0.1', 0))
    sock.settimeout(2)
    logger = get_logger({'log_statsd_host': '127.0.0.1',
                         'log_statsd_port': str(sock.getsockname()[1]),
                         'log_statsd_metric_prefix': 'node1'},
                        name='swiftsync', log_route='test-csync')
    cs.emit_gauges(logger, [
        entry('a', cs.BEHIND, 340, 12.0),
        entry('b', cs.BEHIND, 10, 40.0),
        entry('c', cs.SHARDED, reason='sharded'),
        entry('d', cs.IN_SYNC, 0, 0.0, peer='10.0.0.3:8080'),
    ], peers=['c2', 'c3'])
    got = set()
    try:
        while len(got) < 9:
            got.add(sock.recv(512).decode())
    finally:
        sock.close()
    assert got == {
        'node1.swiftsync.container_sync.c2.rows_behind:350|g',
        'node1.swiftsync.container_sync.c2.seconds_behind:40.0|g',
        'node1.swiftsync.container_sync.c2.blocked:1|g',
        'node1.swiftsync.container_sync.10_0_0_3_8080.rows_behind:0|g',
        'node1.swiftsync.container_sync.10_0_0_3_8080.seconds_behind:0.0|g',
        'node1.swiftsync.container_sync.10_0_0_3_8080.blocked:0|g',
        # a peer nothing syncs to: zeros, not the last value it had
        'node1.swiftsync.container_sync.c3.rows_behind:0|g',
        'node1.swiftsync.container_sync.c3.seconds_behind:0.0|g',
        'node1.swiftsync.container_sync.c3.blocked:0|g',
    }
