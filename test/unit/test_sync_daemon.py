"""Unit tests of the sync daemon's row logic: real ContainerBroker DBs in a
temp dir, a scripted stand-in for the transfer engine."""

import datetime
import time

import pytest
from swift.common.utils import Timestamp
from swift.container.backend import ContainerBroker
import eventlet

from swiftsync.config import loads
from swiftsync.daemon import sync
from swiftsync.daemon.checkpoint import Checkpoint
from swiftsync.middleware import optin
from swiftsync.stores.base import StoreError
from swiftsync.stores.s3 import S3Store

CONF = loads('''
[swiftsync]
interval = 1

[target:s3]
type = s3
bucket = b
access_key = a
secret_key = s
retries = 2
''')


class Logger(object):
    def __init__(self):
        self.counts = {}
        self.lines = []

    def increment(self, metric):
        self.counts[metric] = self.counts.get(metric, 0) + 1

    def update_stats(self, metric, n):
        self.counts[metric] = self.counts.get(metric, 0) + n

    def timing(self, *args):
        pass

    def _log(self, fmt, *args):
        self.lines.append(fmt % args)
    info = error = exception = warning = debug = _log


class Outcome(object):
    def __init__(self, name):
        self.name = name


class FakeTransfer(object):
    """sync()/delete() answer from a script: name -> exception or
    outcome name; default COPIED / DELETED."""

    def __init__(self, script=None):
        self.script = script or {}
        self.calls = []
        self.dst = None   # a Transfer's destination store

    def _answer(self, name, default):
        self.calls.append(name)
        answer = self.script.get(name, default)
        if callable(answer):
            answer = answer()
        if isinstance(answer, Exception):
            raise answer
        return Outcome(answer)

    def sync(self, name, **hints):
        return self._answer(name, 'COPIED')

    def delete(self, name):
        return self._answer(name, 'DELETED')


class FakeSwift(object):
    def __init__(self, status=204):
        self.status = status
        self.deletes = []

    def make_path(self, *parts):
        return '/v1/' + '/'.join(parts)

    def make_request(self, method, path, headers, acceptable):
        self.deletes.append((path, headers['X-Timestamp']))

        class Resp(object):
            status_int = self.status
        return Resp()


class FakeDaemon(object):
    def __init__(self, tmp_path, swift=None):
        self.logger = Logger()
        self.interval = 1.0
        self.verify_slack = 600.0
        self.state_dir = str(tmp_path / 'state')
        self.swift = swift or FakeSwift()


@pytest.fixture
def broker(tmp_path):
    b = ContainerBroker(str(tmp_path / 'c.db'), account='AUTH_a',
                        container='c')
    b.initialize(Timestamp.now().internal, 0)
    return b


def put(broker, name, ts=None, deleted=0):
    broker.put_object(name, (ts or Timestamp.now()).internal, 3,
                      'text/plain', 'etag', deleted=deleted)


def job_for(tmp_path, broker, mapping, ordinal=0, replicas=1, daemon=None):
    info = broker.get_info()
    db = sync.LocalDB(broker.db_file, broker, info, ordinal, replicas)
    daemon = daemon or FakeDaemon(tmp_path)
    cp = Checkpoint.load(str(tmp_path / 'cp.json'))
    cp.bind(info['id'], 'AUTH_a', 'c', 'fp', mapping.target, mapping.mode)
    return sync.ContainerJob(daemon, db, mapping, CONF.target('s3'), cp,
                             time.time()), cp


def mapping(**kw):
    sysmeta = {optin.SYSMETA['target']: 's3'}
    for k, v in kw.items():
        sysmeta[optin.SYSMETA[k]] = str(v)
    return optin.mapping_from_sysmeta(sysmeta, 'AUTH_a', 'c')


def run(job, transfer):
    job.run(eventlet.GreenPool(4), transfer, ignore_backoff=False)


def test_rows_are_copied_and_checkpointed(tmp_path, broker):
    for i in range(5):
        put(broker, 'o%d' % i)
    job, cp = job_for(tmp_path, broker, mapping())
    t = FakeTransfer()
    run(job, t)
    assert sorted(t.calls) == ['o%d' % i for i in range(5)]
    saved = Checkpoint.load(cp.path)
    assert saved.row == broker.get_max_row()
    assert saved.verified == saved.row
    assert saved.data['stats']['objects'] == 5
    assert job.logger.counts['objects'] == 5  # statsd, through the logger
    assert job.logger.counts['bytes'] == 15
    # nothing new: nothing done
    job, cp = job_for(tmp_path, broker, mapping())
    t = FakeTransfer()
    run(job, t)
    assert t.calls == []


class Killed(BaseException):
    """The daemon dies (SIGKILL) in the middle of a batch."""


def test_the_checkpoint_follows_a_batch_so_a_crash_costs_little(
        tmp_path, broker, monkeypatch):
    monkeypatch.setattr(sync, 'CHECKPOINT_EVERY', 0)
    for i in range(30):
        put(broker, 'o%02d' % i)
    job, cp = job_for(tmp_path, broker, mapping())

    def die():
        raise Killed()
    with pytest.raises(Killed):
        job.run(eventlet.GreenPool(1), FakeTransfer({'o20': die}))
    saved = Checkpoint.load(cp.path)
    assert saved.row == 20          # o00..o19 are done
    assert saved.data['running']    # ... in a pass that never finished
    job, cp = job_for(tmp_path, broker, mapping())
    t = FakeTransfer()
    run(job, t)
    assert t.calls == ['o%02d' % i for i in range(20, 30)]


def test_a_failing_row_is_kept_for_retry_and_the_rest_goes_on(
        tmp_path, broker):
    for i in range(6):
        put(broker, 'o%d' % i)
    job, cp = job_for(tmp_path, broker, mapping())
    t = FakeTransfer({'o2': StoreError('bad name', 400)})
    run(job, t)
    saved = Checkpoint.load(cp.path)
    assert saved.row == broker.get_max_row()
    assert [e['name'] for e in saved.retry.values()] == ['o2']
    assert 'bad name' in saved.data['last_error']['message']
    # the retry waits for its delay, then succeeds
    job, cp = job_for(tmp_path, broker, mapping())
    job.now = time.time() + sync.MAX_BACKOFF
    t = FakeTransfer()
    run(job, t)
    assert t.calls == ['o2']
    saved = Checkpoint.load(cp.path)
    assert saved.retry == {}
    assert saved.data['last_error'] is None


def test_a_retry_replaced_by_a_newer_row_is_dropped(tmp_path, broker):
    put(broker, 'o')
    job, cp = job_for(tmp_path, broker, mapping())
    run(job, FakeTransfer({'o': StoreError('nope', 400)}))
    put(broker, 'o')  # a newer version: a new row
    job, cp = job_for(tmp_path, broker, mapping())
    job.now = time.time() + sync.MAX_BACKOFF
    t = FakeTransfer()
    run(job, t)
    assert t.calls == ['o']  # once, as the new row
    assert Checkpoint.load(cp.path).retry == {}


def test_a_dead_store_stops_the_pass_and_keeps_every_row(tmp_path, broker):
    for i in range(20):
        put(broker, 'o%02d' % i)
    job, cp = job_for(tmp_path, broker, mapping())
    dead = StoreError('connection refused', None)
    t = FakeTransfer({'o%02d' % i: dead for i in range(20)})
    eventlet.sleep(0)
    run(job, t)
    # a few attempts (with in-row retries), not twenty
    assert len(t.calls) < 20
    saved = Checkpoint.load(cp.path)
    assert saved.row < broker.get_max_row()
    assert saved.data['next_pass'] > time.time()
    assert 'connection refused' in saved.data['last_error']['message']
    # everything arrives once the store is back
    job, cp = job_for(tmp_path, broker, mapping())
    t = FakeTransfer()
    job.run(eventlet.GreenPool(4), t, ignore_backoff=True)
    assert set('o%02d' % i for i in range(20)) <= set(t.calls)
    assert Checkpoint.load(cp.path).row == broker.get_max_row()


def test_a_store_dying_in_the_middle_of_a_pass_stops_it(tmp_path, broker):
    for i in range(100):
        put(broker, 'o%02d' % i)
    job, cp = job_for(tmp_path, broker, mapping())
    dead = StoreError('connection refused', None)
    t = FakeTransfer({'o%02d' % i: dead for i in range(10, 100)})
    run(job, t)
    # the rows before it went, then a few attempts, not ninety
    assert len(t.calls) < 10 + sync.BREAKER + 4
    saved = Checkpoint.load(cp.path)
    assert saved.row == 10
    assert saved.data['next_pass'] > time.time()
    assert saved.data['stats']['objects'] == 10


def test_replica_split_and_verification(tmp_path, broker):
    names = ['o%02d' % i for i in range(30)]
    for name in names:
        put(broker, name, Timestamp(time.time() - 100))
    seen = []
    for ordinal in range(3):
        cp_dir = tmp_path / ('n%d' % ordinal)
        cp_dir.mkdir()
        daemon = FakeDaemon(cp_dir)
        job, cp = job_for(cp_dir, broker, mapping(), ordinal, 3, daemon)
        t = FakeTransfer()
        run(job, t)
        seen.append(set(t.calls))
        assert Checkpoint.load(cp.path).verified == 0  # slack not over
    assert set().union(*seen) == set(names)
    assert sum(len(s) for s in seen) == len(names)
    # after the slack, node 0 checks everything the others had
    daemon = FakeDaemon(tmp_path / 'n0')
    daemon.verify_slack = 0
    job, cp = job_for(tmp_path / 'n0', broker, mapping(), 0, 3, daemon)
    t = FakeTransfer({n: 'SKIPPED' for n in names})
    run(job, t)
    assert set(t.calls) == set(names) - seen[0]
    assert Checkpoint.load(cp.path).verified == broker.get_max_row()


def test_archive_waits_then_deletes_with_a_guarded_timestamp(
        tmp_path, broker):
    old = Timestamp(time.time() - 100)
    put(broker, 'old', old)
    put(broker, 'new')
    swift = FakeSwift()
    daemon = FakeDaemon(tmp_path, swift)
    job, cp = job_for(tmp_path, broker, mapping(mode='archive', after=50),
                      daemon=daemon)
    t = FakeTransfer()
    run(job, t)
    assert t.calls == ['old']
    assert len(swift.deletes) == 1
    stamp = Timestamp(swift.deletes[0][1])
    assert stamp > old and stamp.timestamp == old.timestamp
    assert stamp.offset == 1
    # 'new' is not old enough: the checkpoint waits before it
    assert Checkpoint.load(cp.path).row == 1


def test_archive_deletes_are_not_propagated(tmp_path, broker):
    ts = Timestamp(time.time(), offset=1)
    put(broker, 'archived', ts, deleted=1)
    put(broker, 'user-deleted', deleted=1)
    job, cp = job_for(tmp_path, broker, mapping(mode='archive',
                                                delete='true'))
    t = FakeTransfer()
    run(job, t)
    assert t.calls == ['user-deleted']


def test_deletes_follow_the_mapping(tmp_path, broker):
    put(broker, 'x', deleted=1)
    job, cp = job_for(tmp_path, broker, mapping(delete='false'))
    t = FakeTransfer()
    run(job, t)
    assert t.calls == []
    (tmp_path / 'cp.json').unlink()
    job, cp = job_for(tmp_path, broker, mapping())
    t = FakeTransfer()
    run(job, t)
    assert t.calls == ['x']
    assert Checkpoint.load(cp.path).data['stats']['deletes'] == 1


def test_checkpoint_resets_on_new_destination(tmp_path):
    cp = Checkpoint(str(tmp_path / 'x.json'))
    cp.bind('db1', 'a', 'c', 'fp1', 's3', 'sync')
    cp.row = 10
    cp.save()
    cp = Checkpoint.load(str(tmp_path / 'x.json'))
    assert not cp.bind('db1', 'a', 'c', 'fp1', 's3', 'sync')
    assert cp.row == 10
    assert cp.bind('db1', 'a', 'c', 'fp2', 's3', 'archive')
    assert cp.row == 0


def test_optin_header_parsing():
    parse = optin.parse_headers
    assert parse({optin.HEADERS['target']: ''}, CONF) == {
        v: '' for v in optin.SYSMETA.values()}
    assert parse({optin.HEADERS['delete']: 'Yes'}, CONF) == {
        optin.SYSMETA['delete']: 'true'}
    for bad in ({optin.HEADERS['target']: 'nope'},
                {optin.HEADERS['mode']: 'copy'},
                {optin.HEADERS['after']: '-1'},
                {optin.HEADERS['after']: '1e3'},
                {optin.HEADERS['delete']: 'perhaps'}):
        with pytest.raises(optin.OptInError):
            parse(bad, CONF)
    m = mapping(mode='archive', after=30)
    assert (m.mode, m.after, m.propagate_delete) == ('archive', 30.0, False)
    assert mapping().propagate_delete is True


def test_a_paused_container_tries_one_row_first(tmp_path, broker):
    for i in range(10):
        put(broker, 'o%d' % i)
    dead = StoreError('connection refused', None)
    job, cp = job_for(tmp_path, broker, mapping())
    run(job, FakeTransfer({'o%d' % i: dead for i in range(10)}))
    assert Checkpoint.load(cp.path).data['backoff_level'] == 1
    job, cp = job_for(tmp_path, broker, mapping())
    t = FakeTransfer({'o%d' % i: dead for i in range(10)})
    job.run(eventlet.GreenPool(4), t, ignore_backoff=True)
    assert t.calls == ['o0']  # the probe alone
    saved = Checkpoint.load(cp.path)
    assert saved.data['backoff_level'] == 2
    assert saved.row == 0 and saved.retry == {}


class ListingStore(object):
    def __init__(self, names):
        self.names = names
        self.heads = []

    def list(self):
        return iter([type('I', (), {'name': n})() for n in self.names] +
                    [{'subdir': 'x/'}])

    def head(self, name):
        self.heads.append(name)
        return 'info'

    def delete(self, name):
        return 'deleted ' + name


def test_listed_store_heads_only_listed_names():
    store = ListingStore(['a', 'b'])
    listed = sync.ListedStore(store)
    assert listed.head('a') == 'info'
    assert listed.head('zzz') is None
    assert store.heads == ['a']
    assert listed.delete('q') == 'deleted q'


class MissingContainerStore(ListingStore):
    def list(self):
        from swiftsync.stores.base import NotFound
        raise NotFound('GET c/: Not Found')
        yield


def test_listed_store_of_a_missing_container_is_empty():
    # a Swift destination container the first PUT will create: every name
    # takes the one-GET-one-PUT path, none is HEADed
    listed = sync.ListedStore(MissingContainerStore([]))
    assert not listed.listed('a')
    assert listed.head('a') is None


class UploadsClient(object):
    """The multipart-upload listing and abort of botocore's S3 client."""

    def __init__(self, uploads):
        self.uploads = uploads   # [(key, upload id, initiated datetime)]
        self.aborted = []

    def list_multipart_uploads(self, Bucket, Prefix, **kwargs):
        return {'Uploads': [{'Key': k, 'UploadId': u, 'Initiated': t}
                            for k, u, t in self.uploads
                            if k.startswith(Prefix)]}

    def abort_multipart_upload(self, Bucket, Key, UploadId):
        self.aborted.append(Key)


def at(t):
    """An S3 upload's Initiated: whole seconds."""
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc)


def test_after_a_crash_only_this_nodes_leftover_uploads_are_aborted(
        tmp_path, broker):
    now = time.time()
    names = ['o%02d' % i for i in range(40)]
    mine = [n for n in names if sync.ordinal_of('AUTH_a', 'c', n, 3) == 1]
    theirs = [n for n in names if n not in mine]
    client = UploadsClient([])
    store = S3Store(client, 'b', 'AUTH_a', 'c')
    client.uploads = [
        # left by this node's killed daemon: aborted
        (store.key(mine[0]), 'u1', at(now - 60)),
        # this node's name, started since this pass began (another run
        # on this node): kept
        (store.key(mine[0]), 'u2', at(now + 2)),
        # another replica's upload, maybe in flight: kept
        (store.key(theirs[0]), 'u3', at(now - 60)),
        # anyone's, abandoned for over a week: aborted
        (store.key(theirs[1]), 'u4', at(now - 8 * 86400)),
    ]
    daemon = FakeDaemon(tmp_path)
    job, cp = job_for(tmp_path, broker, mapping(), 1, 3, daemon)
    cp.data['running'] = True   # the last pass never finished
    transfer = FakeTransfer()
    transfer.dst = store
    run(job, transfer)
    assert client.aborted == [store.key(mine[0]), store.key(theirs[1])]
    assert any('aborted 2 multipart' in line for line in daemon.logger.lines)
    # a pass that finished: nothing to clean up after
    job, cp = job_for(tmp_path, broker, mapping(), 1, 3, daemon)
    assert not Checkpoint.load(cp.path).data.get('running')
    run(job, transfer)
    assert len(client.aborted) == 2


def test_uploads_a_failing_store_left_open_are_aborted_when_it_is_back(
        tmp_path, broker):
    put(broker, 'big')
    client = UploadsClient([])
    store = S3Store(client, 'b', 'AUTH_a', 'c')
    # the upload of 'big' began, then the store went away: it could not
    # be aborted either
    client.uploads = [(store.key('big'), 'u1', at(time.time() - 1))]
    transfer = FakeTransfer({'big': StoreError('refused', None, True)})
    transfer.dst = store
    job, cp = job_for(tmp_path, broker, mapping())
    run(job, transfer)
    assert Checkpoint.load(cp.path).data['leftovers']
    assert client.aborted == []
    # back: the next pass aborts it before anything else
    transfer = FakeTransfer()
    transfer.dst = store
    job, cp = job_for(tmp_path, broker, mapping())
    run(job, transfer)
    assert client.aborted == [store.key('big')]
    assert 'leftovers' not in Checkpoint.load(cp.path).data


def test_a_source_body_never_read_is_closed_down_to_the_proxy():
    """A PUT that fails before reading its body (the store is down):
    closing the local GET's body must reach the proxy's iterator under
    catch_errors (which has no close() of its own)."""
    from swift.common.middleware.catch_errors import ByteEnforcer
    from swift.common.utils import reiterate
    from swiftsync.stores.local import _AppIter
    state = []

    def proxy_iter():
        try:
            yield b'abc'
        finally:
            state.append('closed')
    body = _AppIter(ByteEnforcer(reiterate(proxy_iter()), 3))
    body.close()
    assert state == ['closed']
