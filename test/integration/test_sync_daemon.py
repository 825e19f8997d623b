"""``swiftsync sync`` / ``swiftsync status`` and the container opt-in, against
real servers: the session deployment (2 Swift clusters, SeaweedFS, s3api)
and, for the 3-replica case, a deployment of its own.

The daemon always runs as a subprocess (``swiftsync sync CONF --once``) with
the node's own operator file from env.json, or a copy of it with a few keys
changed.
"""

import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pytest
import requests
import swiftclient

from swiftsync.devcluster import Deployment
from swiftsync.devcluster.derive import derive_conf as derived_conf

from test.integration.clients import s3_client, swift

SWIFTSYNC = os.path.join(os.path.dirname(sys.executable), 'swiftsync')
OPTIN = 'X-Container-Cloud-Sync-'


# -- helpers -----------------------------------------------------------------

def node_conf(env, node=0, cluster=0):
    return env['clusters'][cluster]['nodes'][node]['swiftsync_conf']


def run_sync(conf, timeout=120):
    proc = subprocess.run([SWIFTSYNC, 'sync', conf, '--once', '-v'],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def status(conf):
    proc = subprocess.run([SWIFTSYNC, 'status', conf, '--json'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    return {(s['account'], s['container']): s
            for s in json.loads(proc.stdout)}, proc


def s3_key(account, container, name):
    digest = hashlib.md5(('%s/%s' % (account, container)).encode('utf-8'))
    return '%x/%s/%s/%s' % (int(digest.hexdigest(), 16) % 16 ** 6,
                            account, container, name)


def s3_objects(env, kind, account, container):
    """{object name: head} of what the hashed layout holds for a
    container on S3 server ``kind``."""
    creds = env['s3_servers'][kind]
    client = s3_client(creds)
    prefix = s3_key(account, container, '')
    out = {}
    for page in client.get_paginator('list_objects_v2').paginate(
            Bucket=creds['bucket'], Prefix=prefix):
        for obj in page.get('Contents', []):
            out[obj['Key'][len(prefix):]] = obj
    return out


def remote_names(env, target, container, conf=None):
    """Object names in the remote place of ``container`` on ``target``, as
    the store API gives them back (names S3 cannot hold as keys as they
    are, like a leading slash, come back as they were)."""
    from swiftsync import config
    from swiftsync.stores import open_store
    cfg = config.load(conf or node_conf(env))
    store = open_store(cfg.target(target), env['clusters'][0]['account'],
                       container)
    return sorted(i.name for i in store.list() if not isinstance(i, dict))


def s3_head(env, kind, account, container, name):
    creds = env['s3_servers'][kind]
    return s3_client(creds).head_object(
        Bucket=creds['bucket'], Key=s3_key(account, container, name))


def local_names(env, container, cluster=0):
    conn = swift(env['clusters'][cluster])
    return [o['name'] for o in conn.get_container(
        container, full_listing=True)[1]]


@pytest.fixture
def conn(env):
    return swift(env['clusters'][0])


@pytest.fixture
def opted_in(conn):
    """Make containers opted in; turn them off at the end so that later
    daemon runs leave them alone."""
    made = []

    def make(target, mode=None, after=None, delete=None, name=None):
        name = name or 'sync-' + uuid.uuid4().hex[:10]
        headers = {OPTIN + 'Target': target}
        if mode:
            headers[OPTIN + 'Mode'] = mode
        if after is not None:
            headers[OPTIN + 'After'] = str(after)
        if delete is not None:
            headers[OPTIN + 'Delete'] = delete
        conn.put_container(name, headers=headers)
        made.append(name)
        return name
    yield make
    for name in made:
        try:
            conn.post_container(name, {OPTIN + 'Target': ''})
        except swiftclient.ClientException:
            pass


ODD_NAMES = [
    'plain.txt', 'dir/sub/obj', 'with space', 'per%cent', 'quest?ion',
    'hash#tag', u'\u00fcnic\u00f8de/\u65e5\u672c', '/leading', 'trailing/',
    'zero-bytes',
]


def upload_odd(conn, container):
    for name in ODD_NAMES:
        body = b'' if name == 'zero-bytes' else name.encode('utf-8') * 3
        conn.put_object(container, name, body,
                        content_type='text/plain; charset=utf-8',
                        headers={'X-Object-Meta-Color': u'bl\u00e9u'})


# -- opt-in ------------------------------------------------------------------

def test_optin_is_validated_and_shown_to_owners_only(env, conn):
    c = 'optin-' + uuid.uuid4().hex[:8]
    conn.put_container(c, headers={OPTIN + 'Target': 's3',
                                   OPTIN + 'Mode': 'archive',
                                   OPTIN + 'After': '3600',
                                   OPTIN + 'Delete': 'false'})
    head = conn.head_container(c)
    assert head['x-container-cloud-sync-target'] == 's3'
    assert head['x-container-cloud-sync-mode'] == 'archive'
    assert head['x-container-cloud-sync-after'] == '3600'
    assert head['x-container-cloud-sync-delete'] == 'false'
    assert not [h for h in head if 'sysmeta' in h]
    # a GET shows them too
    assert conn.get_container(c)[0]['x-container-cloud-sync-target'] == 's3'

    bad = [({OPTIN + 'Target': 'nowhere'}, 'unknown target'),
           ({OPTIN + 'Mode': 'mirror'}, 'sync or archive'),
           ({OPTIN + 'After': '-5'}, 'seconds'),
           ({OPTIN + 'After': 'soon'}, 'seconds'),
           ({OPTIN + 'Delete': 'maybe'}, 'true or false')]
    for headers, reason in bad:
        with pytest.raises(swiftclient.ClientException) as e:
            conn.post_container(c, headers)
        assert e.value.http_status == 400
        assert reason in e.value.http_response_content.decode()
    with pytest.raises(swiftclient.ClientException) as e:
        conn.put_container(c + '-new', headers={OPTIN + 'Mode': 'bogus'})
    assert e.value.http_status == 400

    # another user with read and write ACLs: sees nothing, sets nothing
    conn.post_container(c, {'X-Container-Read': 'test2:tester2',
                            'X-Container-Write': 'test2:tester2'})
    cl = env['clusters'][0]
    other = swift(cl, user=2)
    url = conn.get_auth()[0]
    token2 = other.get_auth()[1]
    head2 = swiftclient.head_container(url, token2, c)
    assert not [h for h in head2 if 'cloud-sync' in h]
    with pytest.raises(swiftclient.ClientException) as e:
        swiftclient.post_container(url, token2, c, {OPTIN + 'Target': 'c2'})
    assert e.value.http_status == 403
    assert conn.head_container(c)['x-container-cloud-sync-target'] == 's3'

    # empty target: off, and the other settings go with it
    conn.post_container(c, {OPTIN + 'Target': ''})
    head = conn.head_container(c)
    assert not [h for h in head if 'cloud-sync' in h]


# -- sync to each kind of store -----------------------------------------------

def test_sync_to_seaweedfs_odd_names_metadata_deletes(env, conn, opted_in):
    account = env['clusters'][0]['account']
    c = opted_in('s3')
    upload_odd(conn, c)
    run_sync(node_conf(env))
    # SeaweedFS folds the '//' of <container>//leading into one '/': the
    # object lands under 'leading' (a store-layout matter, see the s3api
    # and c2 tests where it round-trips)
    names = remote_names(env, 's3', c)
    assert [n for n in names if n != 'leading'] == sorted(
        n for n in ODD_NAMES if n != '/leading')
    found = s3_objects(env, 'seaweedfs', account, c)
    assert len(found) == len(ODD_NAMES)
    head = s3_head(env, 'seaweedfs', account, c, 'plain.txt')
    assert head['ContentType'] == 'text/plain; charset=utf-8'
    assert found['zero-bytes']['Size'] == 0
    assert head['ETag'].strip('"') == hashlib.md5(
        b'plain.txt' * 3).hexdigest()

    st, _ = status(node_conf(env))
    assert st[(account, c)]['rows_pending'] == 0
    assert st[(account, c)]['target'] == 's3'
    assert st[(account, c)]['last_error'] is None

    # metadata change, overwrite, delete: the next pass carries them
    conn.post_object(c, 'plain.txt', {'X-Object-Meta-Color': 'red'})
    conn.put_object(c, 'dir/sub/obj', b'new content')
    conn.delete_object(c, 'with space')
    st, _ = status(node_conf(env))
    assert st[(account, c)]['rows_pending'] == 3
    run_sync(node_conf(env))
    assert 'with space' not in remote_names(env, 's3', c)
    found = s3_objects(env, 'seaweedfs', account, c)
    assert found['dir/sub/obj']['Size'] == len(b'new content')
    head = s3_head(env, 'seaweedfs', account, c, 'plain.txt')
    assert 'red' in json.dumps(head['Metadata'])
    st, _ = status(node_conf(env))
    assert st[(account, c)]['rows_pending'] == 0


@pytest.mark.parametrize('target', ['s3api', 'c2'])
def test_sync_to_s3api_and_second_cluster(env, conn, opted_in, target):
    account = env['clusters'][0]['account']
    c = opted_in(target)
    names = ['a', 'b/c', u'd\u00e9j\u00e0 vu', 'gone'] + ODD_NAMES
    if target == 'c2':
        names.append('n' * 1024)  # the longest name Swift takes
    for name in names:
        conn.put_object(c, name, name.encode('utf-8') * 10,
                        headers={'X-Object-Meta-Who': 'me'})
    out = run_sync(node_conf(env))
    conn.delete_object(c, 'gone')
    out += run_sync(node_conf(env))
    print(out)
    if target == 'c2':
        remote = swift(env['clusters'][1])
        listing = [o['name'] for o in remote.get_container(c)[1]]
        assert sorted(listing) == sorted(n for n in names if n != 'gone')
        head = remote.head_object(c, 'a')
        assert head['x-object-meta-who'] == 'me'
        assert head['etag'] == hashlib.md5(b'a' * 10).hexdigest()
    else:
        assert remote_names(env, 's3api', c) == sorted(n for n in names if n != 'gone')
    st, _ = status(node_conf(env))
    assert st[(account, c)]['rows_pending'] == 0


def test_large_objects_through_the_daemon(env, conn, opted_in):
    c = opted_in('s3')
    segs = c + '-segments'
    conn.put_container(segs)
    mib5 = 5 * 1024 * 1024
    manifest = []
    for i in range(3):
        conn.put_object(segs, 'slo/%d' % i, bytes([65 + i]) * mib5)
        manifest.append({'path': '/%s/slo/%d' % (segs, i)})
    conn.put_object(c, 'slo', json.dumps(manifest),
                    query_string='multipart-manifest=put')
    for i in range(2):
        conn.put_object(segs, 'dlo/%d' % i, b'dlo part %d;' % i)
    conn.put_object(c, 'dlo', b'', headers={
        'X-Object-Manifest': '%s/dlo/' % segs})
    run_sync(node_conf(env))
    from swiftsync import config
    from swiftsync.stores import open_store
    cfg = config.load(node_conf(env))
    store = open_store(cfg.target('s3'), env['clusters'][0]['account'], c)
    slo = store.head('slo')
    assert slo.size == 3 * mib5
    dlo = store.head('dlo')
    assert dlo.size == len(b'dlo part 0;dlo part 1;')
    info, _status, _headers, body = store.get('dlo')
    assert b''.join(body) == b'dlo part 0;dlo part 1;'
    st, _ = status(node_conf(env))
    assert st[(env['clusters'][0]['account'], c)]['rows_pending'] == 0


def test_operator_mapping_expiry_exclude_and_metadata(env, conn, tmp_path):
    account = env['clusters'][0]['account']
    c = 'expiring-' + uuid.uuid4().hex[:8]
    conn.put_container(c)
    conn.put_object(c, 'o', b'short-lived', headers={
        'X-Object-Meta-Keep': 'yes', 'X-Object-Meta-Drop': 'no'})
    conn.put_object(c, 'scratch.tmp', b'not copied')
    conf = derived_conf(
        node_conf(env), tmp_path / 'exp.conf',
        '[mapping:exp]\naccount = %s\ncontainer = %s\ntarget = s3\n'
        'expire_after = 36h\nexclude = \\.tmp$\nmetadata = keep\n'
        % (account, c), state_dir=str(tmp_path / 'state'))
    run_sync(conf)
    assert remote_names(env, 's3', c, conf) == ['o']
    meta = s3_head(env, 'seaweedfs', account, c, 'o')['Metadata']
    assert meta == {'keep': 'yes'}
    creds = env['s3_servers']['seaweedfs']
    rules = s3_client(creds).get_bucket_lifecycle_configuration(
        Bucket=creds['bucket'])['Rules']
    mine = [r for r in rules
            if r.get('Filter', {}).get('Prefix') == s3_key(account, c, '')]
    assert len(mine) == 1 and mine[0]['Expiration']['Days'] == 2


def test_expiry_on_a_swift_target(env, conn, tmp_path):
    account = env['clusters'][0]['account']
    c = 'expiring-swift-' + uuid.uuid4().hex[:8]
    conn.put_container(c)
    conn.put_object(c, 'o', b'short-lived')
    conf = derived_conf(
        node_conf(env), tmp_path / 'exp.conf',
        '[mapping:exp]\naccount = %s\ncontainer = %s\ntarget = c2\n'
        'expire_after = 1h\n' % (account, c),
        state_dir=str(tmp_path / 'state'))
    before = time.time()
    run_sync(conf)
    head = swift(env['clusters'][1]).head_object(c, 'o')
    delete_at = int(head['x-delete-at'])
    assert before + 3600 - 5 <= delete_at <= time.time() + 3600 + 5


# -- versioned containers -----------------------------------------------------

def remote_body(env, target, container, name):
    from swiftsync import config
    from swiftsync.stores import open_store
    store = open_store(config.load(node_conf(env)).target(target),
                       env['clusters'][0]['account'], container)
    _info, _status, _headers, body = store.get(name)
    try:
        return b''.join(body)
    finally:
        close = getattr(body, 'close', None)
        if close:
            close()


@pytest.mark.parametrize('target', ['s3', 'c2'])
def test_a_versioned_container_syncs_its_current_versions(env, conn,
                                                          opted_in, target):
    """Sync mode carries the current version of each object; the history
    stays in the source's hidden versions container (doc/sync.rst)."""
    account = env['clusters'][0]['account']
    c = opted_in(target)
    conn.post_container(c, {'X-Versions-Enabled': 'true'})
    conn.put_object(c, 'o', b'v1')
    conn.put_object(c, 'o', b'v2-longer')
    conn.put_object(c, 'gone', b'x')
    run_sync(node_conf(env))
    assert remote_names(env, target, c) == ['gone', 'o']
    assert remote_body(env, target, c, 'o') == b'v2-longer'
    st, _ = status(node_conf(env))
    mine = st[(account, c)]
    assert mine['rows_pending'] == 0 and mine['last_error'] is None
    # the rows are symlinks to the versions: bytes are the versions'
    assert mine['stats']['bytes'] == len(b'v2-longer') + len(b'x')
    # Swift's hidden versions container is never synced itself
    assert not [k for k in st if k[1].startswith('\x00')]

    # a delete (a delete marker in the history) and a restored version
    conn.delete_object(c, 'gone')
    _, versions = conn.get_container(c, query_string='versions')
    first = [v for v in versions if v['name'] == 'o'][-1]['version_id']
    url, token = conn.get_auth()
    r = requests.put('%s/%s/o' % (url, c), params={'version-id': first},
                     headers={'X-Auth-Token': token,
                              'X-Copy-From': '%s/o' % c}, timeout=30)
    assert r.status_code == 201, r.text
    run_sync(node_conf(env))
    assert remote_names(env, target, c) == ['o']
    assert remote_body(env, target, c, 'o') == b'v1'
    # the local history is whole: 3 versions of o, gone and its marker
    _, versions = conn.get_container(c, query_string='versions')
    assert sorted(v['name'] for v in versions) == ['gone'] * 2 + ['o'] * 3


def test_archive_is_refused_on_a_versioned_container(env, conn, opted_in,
                                                     tmp_path):
    account = env['clusters'][0]['account']
    reason = 'archive mode is refused on a versioned container'
    # versioning an archived container
    archived = opted_in('s3', mode='archive')
    with pytest.raises(swiftclient.ClientException) as e:
        conn.post_container(archived, {'X-Versions-Enabled': 'true'})
    assert e.value.http_status == 400
    assert reason in e.value.http_response_content.decode()
    assert 'x-versions-enabled' not in conn.head_container(archived)
    # archiving a versioned container, or both at once
    versioned = 'versioned-' + uuid.uuid4().hex[:8]
    conn.put_container(versioned, headers={'X-Versions-Enabled': 'true'})
    for headers in ({OPTIN + 'Target': 's3', OPTIN + 'Mode': 'archive'},
                    {OPTIN + 'Target': 's3', OPTIN + 'Mode': 'archive',
                     'X-Versions-Enabled': 'false'}):
        with pytest.raises(swiftclient.ClientException) as e:
            conn.post_container(versioned, headers)
        assert e.value.http_status == 400, headers
    with pytest.raises(swiftclient.ClientException) as e:
        conn.put_container('both-' + uuid.uuid4().hex[:8], headers={
            OPTIN + 'Target': 's3', OPTIN + 'Mode': 'archive',
            'X-Versions-Enabled': 'true'})
    assert e.value.http_status == 400
    # sync mode and versioning go together; so does archive once off
    conn.post_container(versioned, {OPTIN + 'Target': 's3'})
    conn.post_container(versioned, {OPTIN + 'Target': ''})

    # an operator mapping set up in archive mode for a versioned
    # container: the daemon archives nothing and says why
    conn.put_object(versioned, 'keep', b'history')
    conf = derived_conf(
        node_conf(env), tmp_path / 'arch.conf',
        '[mapping:arch]\naccount = %s\ncontainer = %s\ntarget = s3\n'
        'mode = archive\n' % (account, versioned),
        state_dir=str(tmp_path / 'state'))
    run_sync(conf)
    assert internal_names(env, versioned) == ['keep']
    assert s3_objects(env, 'seaweedfs', account, versioned) == {}
    st, _ = status(conf)
    assert reason in st[(account, versioned)]['last_error']['message']


# -- archive ------------------------------------------------------------------

def internal_names(env, container):
    """The local container as the container DB sees it (no read-through
    from a remote)."""
    from swift.common.internal_client import InternalClient
    cl = env['clusters'][0]
    from swift.common.utils import set_swift_dir
    set_swift_dir(cl['swift_dir'])
    ic = InternalClient(cl['internal_client_conf'], 'test', 1)
    return [o['name'] for o in ic.iter_objects(cl['account'], container)]


def test_archive_copies_old_objects_then_removes_them(env, conn, opted_in):
    account = env['clusters'][0]['account']
    c = opted_in('s3', mode='archive', after=0)
    young = opted_in('s3', mode='archive', after=3600)
    for name in ('old1', 'old2'):
        conn.put_object(c, name, b'archive me ' + name.encode())
    conn.put_object(young, 'young', b'not yet')
    out = run_sync(node_conf(env))
    assert sorted(s3_objects(env, 'seaweedfs', account, c)) == [
        'old1', 'old2']
    assert internal_names(env, c) == []
    # too young: neither copied nor removed, and pending in status
    assert s3_objects(env, 'seaweedfs', account, young) == {}
    assert internal_names(env, young) == ['young']
    st, _ = status(node_conf(env))
    assert st[(account, young)]['rows_pending'] == 1
    assert st[(account, c)]['mode'] == 'archive'
    assert st[(account, c)]['rows_pending'] == 0
    assert st[(account, c)]['stats']['archived'] == 2
    # the local removal is not propagated as a delete
    run_sync(node_conf(env))
    assert sorted(s3_objects(env, 'seaweedfs', account, c)) == [
        'old1', 'old2']
    assert 'Traceback' not in out


ARCHIVE_RACE = r'''
import sys, json
from swift.common.utils import set_swift_dir, get_logger
from swiftsync import config
import swiftsync.transfer as transfer
import swiftclient

conf = config.load(sys.argv[1])
set_swift_dir(conf.globals.swift_dir)
cl = json.loads(sys.argv[2])
conn = swiftclient.Connection(cl['auth_url'], cl['user'], cl['key'])
real_sync = transfer.Transfer.sync

def sync_then_overwrite(self, name, *args, **kwargs):
    outcome = real_sync(self, name, *args, **kwargs)
    # a client writes a new version right after the copy
    conn.put_object(sys.argv[3], name, b'newer local version')
    return outcome

transfer.Transfer.sync = sync_then_overwrite
from swiftsync.daemon.sync import SyncDaemon
SyncDaemon(conf, get_logger({}, log_route='t')).run_once()
'''


def test_archive_keeps_an_object_overwritten_after_its_copy(
        env, conn, opted_in, tmp_path):
    account = env['clusters'][0]['account']
    c = opted_in('s3', mode='archive', after=0)
    conn.put_object(c, 'racy', b'first version')
    script = tmp_path / 'race.py'
    script.write_text(ARCHIVE_RACE)
    subprocess.run([sys.executable, str(script), node_conf(env),
                    json.dumps(env['clusters'][0]), c], check=True,
                   timeout=120)
    # the copied version is remote, the newer one survives locally
    body = conn.get_object(c, 'racy')[1]
    assert body == b'newer local version'
    assert internal_names(env, c) == ['racy']
    creds = env['s3_servers']['seaweedfs']
    got = s3_client(creds).get_object(
        Bucket=creds['bucket'], Key=s3_key(account, c, 'racy'))
    assert got['Body'].read() == b'first version'


# -- faults --------------------------------------------------------------------

BAD_TARGETS = '''
[target:badkey]
type = s3
endpoint = {endpoint}
bucket = {bucket}
access_key = {access_key}
secret_key = not-the-secret-key
retries = 1

[target:dead]
type = s3
endpoint = http://127.0.0.1:{dead_port}
bucket = {bucket}
access_key = {access_key}
secret_key = whatever
timeout = 2
retries = 1
'''


def test_bad_credentials_and_dead_endpoint(env, conn, opted_in, tmp_path,
                                           base_port):
    account = env['clusters'][0]['account']
    s3 = env['s3_servers']['seaweedfs']
    extra = BAD_TARGETS.format(dead_port=base_port + 299, **s3)
    conf = derived_conf(node_conf(env), tmp_path / 'bad.conf', extra,
                        state_dir=str(tmp_path / 'state'), interval='1')
    # the proxy knows only its own file's targets: map by operator mapping
    c_key = 'badkey-' + uuid.uuid4().hex[:8]
    c_dead = 'dead-' + uuid.uuid4().hex[:8]
    for c in (c_key, c_dead):
        conn.put_container(c)
        for i in range(6):
            conn.put_object(c, 'o%d' % i, b'data')
    with open(conf, 'a') as f:
        f.write('\n[mapping:k]\naccount = %s\ncontainer = %s\n'
                'target = badkey\n\n[mapping:d]\naccount = %s\n'
                'container = %s\ntarget = dead\n'
                % (account, c_key, account, c_dead))
    out = run_sync(conf)
    assert re.search(r'ERROR cloud sync %s/%s -> badkey: .*(403|Signature|'
                     r'AccessDenied|InvalidAccessKey)' % (account, c_key),
                     out), out[-2000:]
    assert re.search(r'ERROR cloud sync %s/%s -> dead: ' % (account, c_dead),
                     out), out[-2000:]
    assert 'Traceback' not in out
    st, proc = status(conf)
    assert proc.returncode == 1
    for c in (c_key, c_dead):
        s = st[(account, c)]
        assert s['last_error'] and s['last_error']['message']
        assert s['rows_pending'] == 6 and s['rows_synced'] == 0
    assert 'not-the-secret-key' not in out + proc.stdout

    # running on: paused with a growing delay, not a hot loop
    daemon = subprocess.Popen([SWIFTSYNC, 'sync', conf, '-v'],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(daemon.stdout))
    reader.start()
    # a loaded machine may take seconds to start it: wait for the pause,
    # then watch the paused daemon for as long as the first tries took
    deadline = time.time() + 60
    while not any('paused' in line for line in lines) and \
            time.time() < deadline:
        time.sleep(0.2)
    time.sleep(5)
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(timeout=30)
    reader.join(timeout=30)
    out = ''.join(lines)
    tries = len(re.findall(r"ERROR cloud sync [^ ]+ -> badkey: object",
                           out))
    assert 0 < tries <= 6, out[-3000:]
    assert 'paused' in out

    # fixed: the same target name now points at the real store; nothing
    # was lost, everything arrives
    fixed = derived_conf(node_conf(env), tmp_path / 'fixed.conf',
                         extra.replace('not-the-secret-key',
                                       s3['secret_key']).replace(
                                           'http://127.0.0.1:%d'
                                           % (base_port + 299),
                                           s3['endpoint']),
                         state_dir=str(tmp_path / 'state'))
    with open(fixed, 'a') as f:
        f.write('\n[mapping:k]\naccount = %s\ncontainer = %s\n'
                'target = badkey\n' % (account, c_key))
    run_sync(fixed)
    assert sorted(s3_objects(env, 'seaweedfs', account, c_key)) == [
        'o%d' % i for i in range(6)]
    st, _ = status(fixed)
    assert st[(account, c_key)]['rows_pending'] == 0
    assert st[(account, c_key)]['last_error'] is None


def test_running_daemon_sends_a_change_within_a_second_or_so(
        env, conn, opted_in, tmp_path):
    account = env['clusters'][0]['account']
    c = opted_in('s3')
    conn.put_object(c, 'first', b'1')
    conf = derived_conf(node_conf(env), tmp_path / 'watch.conf',
                        state_dir=str(tmp_path / 'state'), interval='300')
    daemon = subprocess.Popen([SWIFTSYNC, 'sync', conf],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not s3_objects(env, 'seaweedfs', account, c):
            assert time.time() < deadline, 'the first pass never came'
            time.sleep(0.2)
        # the next full pass is 300 s away: only the watch can see this
        conn.put_object(c, 'second', b'2')
        changed = time.time()
        while 'second' not in s3_objects(env, 'seaweedfs', account, c):
            assert time.time() - changed < 20, 'the change was not seen'
            time.sleep(0.1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)


def test_crash_and_resume(env, conn, opted_in, tmp_path):
    account = env['clusters'][0]['account']
    c = opted_in('s3')
    n = 120
    for i in range(n):
        conn.put_object(c, 'obj-%04d' % i, b'x' * 100)
    conf = derived_conf(node_conf(env), tmp_path / 'crash.conf',
                        state_dir=str(tmp_path / 'state'), concurrency='2')
    daemon = subprocess.Popen([SWIFTSYNC, 'sync', conf, '--once'],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        if len(s3_objects(env, 'seaweedfs', account, c)) >= 10:
            break
        time.sleep(0.1)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait()
    arrived = len(s3_objects(env, 'seaweedfs', account, c))
    assert 10 <= arrived < n, 'kill came too late to test anything'
    run_sync(conf)
    assert len(s3_objects(env, 'seaweedfs', account, c)) == n
    st, _ = status(conf)
    assert st[(account, c)]['rows_pending'] == 0
    creds = env['s3_servers']['seaweedfs']
    uploads = s3_client(creds).list_multipart_uploads(
        Bucket=creds['bucket'], Prefix=s3_key(account, c, ''))
    assert not uploads.get('Uploads')


# -- three replicas, three daemons --------------------------------------------

@pytest.fixture(scope='module')
def three(tmp_path_factory, base_port):
    dep = Deployment(str(tmp_path_factory.mktemp('three')))
    dep.up(clusters=1, replicas=3, s3='seaweedfs', base_port=base_port + 600)
    yield dep
    dep.down()


def test_three_replicas_each_object_uploaded_once(three, tmp_path):
    env = three.env
    cl = env['clusters'][0]
    conn = swift(cl)
    c = 'three-' + uuid.uuid4().hex[:8]
    conn.put_container(c, headers={OPTIN + 'Target': 's3'})
    n = 45
    for i in range(n):
        conn.put_object(c, 'o%03d' % i, b'three replicas %d' % i)
    confs = []
    for i, node in enumerate(cl['nodes']):
        confs.append(derived_conf(node['swiftsync_conf'],
                                  tmp_path / ('n%d.conf' % i),
                                  verify_slack='600'))
    # every node copies its share: each object once
    for conf in confs:
        run_sync(conf)
    found = s3_objects(env, 'seaweedfs', cl['account'], c)
    assert len(found) == n
    shares = []
    for conf in confs:
        st, _ = status(conf)
        shares.append(st[(cl['account'], c)]['stats'].get('objects', 0))
    assert sum(shares) == n, shares
    assert all(s > 0 for s in shares), shares
    # after the slack every node checks the others' share: nothing
    # is uploaded again
    for i, node in enumerate(cl['nodes']):
        confs[i] = derived_conf(node['swiftsync_conf'],
                                tmp_path / ('n%d.conf' % i),
                                verify_slack='0')
        run_sync(confs[i])
    again = [status(conf)[0][(cl['account'], c)]['stats'].get('objects', 0)
             for conf in confs]
    assert again == shares

    # node 3 is down: after the slack, nodes 1 and 2 copy its share too
    for i in range(20):
        conn.put_object(c, 'late%02d' % i, b'late')
    for conf in confs[:2]:
        run_sync(conf)
    found = s3_objects(env, 'seaweedfs', cl['account'], c)
    assert len(found) == n + 20


def test_a_name_the_s3_server_refuses_is_reported_not_retried_hot(
        env, conn, opted_in):
    """SeaweedFS keeps keys as paths and answers 400 to a '.' segment: that
    object is recorded as failed and shown by ``swiftsync status``; the
    others arrive, and a second pass does not hammer the server."""
    account = env['clusters'][0]['account']
    c = opted_in('s3')
    for name in ('ok-1', 'ok-2'):
        conn.put_object(c, name, b'data')
    # swiftclient (urllib3) would send 'bad/dot': the path goes as it is
    url, token = conn.get_auth()
    parts = urllib.parse.urlsplit(url)
    raw = http.client.HTTPConnection(parts.netloc, timeout=30)
    raw.request('PUT', '%s/%s/bad/./dot' % (parts.path, c), body=b'data',
                headers={'X-Auth-Token': token})
    assert raw.getresponse().status == 201
    raw.close()
    assert local_names(env, c) == ['bad/./dot', 'ok-1', 'ok-2']
    out = run_sync(node_conf(env))
    assert remote_names(env, 's3', c) == ['ok-1', 'ok-2']
    st, proc = status(node_conf(env))
    row = st[(account, c)]
    assert row['rows_pending'] == 1, row
    message = row['last_error']['message']
    assert '1 object(s) failed' in message and 'bad/./dot' in message, row
    assert '(400)' in message, row
    again = run_sync(node_conf(env))
    assert remote_names(env, 's3', c) == ['ok-1', 'ok-2']
    assert again.count('bad/./dot') <= out.count('bad/./dot')


ORDINALS = r'''
import json, sys
from swift.common.ring import Ring
from swift.common.utils import set_swift_dir
from swiftsync.daemon.sync import ordinal_of
swift_dir, account, container, port = sys.argv[1:5]
set_swift_dir(swift_dir)
nodes = Ring(swift_dir, ring_name='container').get_nodes(account,
                                                          container)[1]
mine = [n['port'] for n in nodes].index(int(port))
names = ['u%03d' % i for i in range(40)]
print(json.dumps({'ordinal': mine, 'names': {
    n: ordinal_of(account, container, n, len(nodes)) for n in names}}))
'''


def test_three_replicas_crash_cleans_up_only_its_own_uploads(three,
                                                             tmp_path):
    """A daemon killed mid-pass aborts, on its next pass, the multipart
    uploads of the names its replica copies that were open before it
    started; an upload of another replica's name, in flight, is left."""
    env = three.env
    cl = env['clusters'][0]
    account, conn = cl['account'], swift(cl)
    c = 'crash3-' + uuid.uuid4().hex[:8]
    conn.put_container(c, headers={OPTIN + 'Target': 's3'})
    for i in range(300):
        conn.put_object(c, 'o%03d' % i, b'x')
    node = cl['nodes'][0]
    conf = derived_conf(node['swiftsync_conf'], tmp_path / 'n0.conf',
                        state_dir=str(tmp_path / 'state'), concurrency='1')
    daemon = subprocess.Popen([SWIFTSYNC, 'sync', conf, '--once'],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not s3_objects(env, 'seaweedfs',
                                                    account, c):
        time.sleep(0.02)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait()
    arrived = len(s3_objects(env, 'seaweedfs', account, c))
    assert 0 < arrived < 90, 'kill came too late to test anything'

    # which names this node's replica copies first, as the daemon decides
    out = subprocess.run([sys.executable, '-c', ORDINALS, cl['swift_dir'],
                          account, c, str(node['container_port'])],
                         capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    mine = [n for n, o in found['names'].items() if o == found['ordinal']]
    theirs = [n for n, o in found['names'].items() if o != found['ordinal']]
    creds = env['s3_servers']['seaweedfs']
    client = s3_client(creds)
    # as a killed pass leaves them: one of ours, one of another daemon's
    for name in (mine[0], theirs[0]):
        client.create_multipart_upload(Bucket=creds['bucket'],
                                       Key=s3_key(account, c, name))

    log = run_sync(conf)
    assert 'aborted 1 multipart upload(s) of an interrupted pass' in log, log
    left = client.list_multipart_uploads(
        Bucket=creds['bucket'], Prefix=s3_key(account, c, ''))
    assert [u['Key'] for u in left.get('Uploads', [])] == [
        s3_key(account, c, theirs[0])]
    client.abort_multipart_upload(
        Bucket=creds['bucket'], Key=s3_key(account, c, theirs[0]),
        UploadId=left['Uploads'][0]['UploadId'])
