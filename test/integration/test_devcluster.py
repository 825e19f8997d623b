"""`swiftsync dev`: the deployment every other test stands on."""

import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
import swiftclient

from swiftsync.devcluster import Deployment
from swiftsync.devcluster.procs import pid_alive, port_free

from test.integration.clients import s3_client, swift

SWIFTSYNC = [sys.executable, '-m', 'swiftsync.cli.main']


def run_cli(*args, env=None):
    return subprocess.run(SWIFTSYNC + list(args), capture_output=True,
                          text=True, env=env, timeout=180)


def test_env_json_contract(env):
    assert [c['name'] for c in env['clusters']] == ['c1', 'c2']
    for c in env['clusters']:
        for key in ('proxy_url', 'auth_url', 'user', 'key', 'account',
                    'user2', 'key2', 'account2', 'swiftsync_conf'):
            assert c[key], key
        assert c['auth_url'] == c['proxy_url'] + '/auth/v1.0'
        assert c['proxy_url'].startswith('http://127.0.0.1:')
        assert os.path.isfile(c['swiftsync_conf'])
        assert c['account'] == 'AUTH_test' and c['account2'] == 'AUTH_test2'
    for key in ('endpoint', 'access_key', 'secret_key', 'region', 'bucket'):
        assert env['s3'][key], key
    assert env['s3']['bucket'] == 'swiftsync'
    assert env['targets'] == ['s3', 's3api', 'c2']
    assert env['clusters'][1]['targets'] == ['s3', 's3api', 'c1']


def test_generated_swiftsync_conf_names_the_targets(env):
    text = open(env['clusters'][0]['swiftsync_conf']).read()
    for name in env['targets']:
        assert '[target:%s]' % name in text
    assert '[cluster:c1]' in text and '[cluster:c2]' in text


def test_users_and_accounts(env):
    for c in env['clusters']:
        url1, token1 = swift(c, 1).get_auth()
        url2, token2 = swift(c, 2).get_auth()
        assert url1.endswith('/' + c['account'])
        assert url2.endswith('/' + c['account2'])
        # test2 is no admin of AUTH_test
        with pytest.raises(swiftclient.ClientException) as e:
            swiftclient.head_account(url1, token2)
        assert e.value.http_status == 403
        # the reseller admin reaches every account
        token = swift(c, 'reseller').get_auth()[1]
        swiftclient.head_account(url1, token)
        swiftclient.head_account(url2, token)


def test_object_round_trip_on_every_cluster(env):
    name = 'dir/héllo wörld %?#.txt'
    for c in env['clusters']:
        conn = swift(c)
        cont = 'rt-' + uuid.uuid4().hex[:8]
        conn.put_container(cont)
        conn.put_object(cont, name, b'payload', content_type='text/plain',
                        headers={'X-Object-Meta-Color': 'blue'})
        headers, body = conn.get_object(cont, name)
        assert body == b'payload'
        assert headers['x-object-meta-color'] == 'blue'
        assert [o['name'] for o in conn.get_container(cont)[1]] == [name]


def test_clusters_are_independent(env):
    c1, c2 = env['clusters']
    cont = 'only-c1-' + uuid.uuid4().hex[:8]
    swift(c1).put_container(cont)
    with pytest.raises(swiftclient.ClientException) as e:
        swift(c2).head_container(cont)
    assert e.value.http_status == 404


@pytest.mark.parametrize('kind', ['seaweedfs', 's3api'])
def test_s3_servers_check_signatures(env, kind):
    creds = env['s3_servers'][kind]
    client = s3_client(creds)
    client.put_object(Bucket=creds['bucket'], Key='a/b c', Body=b'xyz',
                      Metadata={'color': 'red'})
    got = client.get_object(Bucket=creds['bucket'], Key='a/b c')
    assert got['Body'].read() == b'xyz'
    assert got['Metadata'] == {'color': 'red'}
    bad = s3_client(dict(creds, secret_key='not-the-secret'))
    with pytest.raises(Exception) as e:
        bad.list_objects_v2(Bucket=creds['bucket'])
    assert e.value.response['Error']['Code'] in (
        'SignatureDoesNotMatch', 'AccessDenied', 'InvalidAccessKeyId')


def test_realm_container_sync_is_configured(env):
    c1, c2 = env['clusters']
    info = swift(c1).get_capabilities()
    realm = info['container_sync']['realms'][env['realm']['name'].upper()]
    assert set(realm['clusters']) == {'C1', 'C2'}
    assert realm['clusters']['C1'].get('current') is True


def test_status_lists_running_processes(deployment):
    out = run_cli('dev', 'status', '--workdir', deployment.workdir)
    assert out.returncode == 0, out.stderr
    assert 'c1-proxy' in out.stdout and 'seaweedfs' in out.stdout
    assert 'stopped' not in out.stdout


def _second_base(base_port, slot):
    # every deployment spans base .. base+230 and base+10194
    return base_port + 300 * slot


def test_three_clusters_three_replicas_use_every_node(tmp_path, base_port):
    workdir = str(tmp_path / 'big')
    base = _second_base(base_port, 1)
    out = run_cli('dev', 'up', '--workdir', workdir, '--clusters', '3',
                  '--replicas', '3', '--s3', 'none', '--base-port', str(base),
                  '--no-container-sync')
    try:
        assert out.returncode == 0, out.stderr
        env = json.load(open(os.path.join(workdir, 'env.json')))
        assert len(env['clusters']) == 3
        for c in env['clusters']:
            assert [n['ip'] for n in c['nodes']] == [
                '127.0.0.1', '127.0.0.2', '127.0.0.3']
            conn = swift(c)
            conn.put_container('spread')
            for i in range(5):
                conn.put_object('spread', 'o%d' % i, b'x' * i)
            for node in c['nodes']:
                dev = os.path.join(node['devices'], node['device'])
                files = [f for _, _, fs in os.walk(dev) for f in fs]
                # every replica: 5 objects, the container and account DBs
                assert sum(f.endswith('.data') for f in files) == 5, node
                assert sum(f.endswith('.db') for f in files) >= 2, node
    finally:
        down = run_cli('dev', 'down', '--workdir', workdir)
    assert down.returncode == 0, down.stderr
    _assert_nothing_left(workdir)


def test_two_autosync_clusters_converge_by_default(tmp_path, base_port):
    """With autosync and 2 clusters, `dev up` runs Swift's container-sync
    daemon: an object written on c1 shows in c2's listing by itself."""
    workdir = str(tmp_path / 'conv')
    out = run_cli('dev', 'up', '--workdir', workdir, '--clusters', '2',
                  '--s3', 'none', '--base-port',
                  str(_second_base(base_port, 4)))
    try:
        assert out.returncode == 0, out.stderr
        assert 'container-sync  running on every node' in out.stdout
        env = json.load(open(os.path.join(workdir, 'env.json')))
        c1, c2 = env['clusters']
        cont = 'conv-' + uuid.uuid4().hex[:8]
        swift(c1).put_container(cont)
        swift(c1).put_object(cont, 'here', b'written on c1')

        def listed():
            return [o['name'] for o in swift(c2).get_container(cont)[1]]
        assert wait_for(listed, timeout=60) == ['here']
        status = run_cli('dev', 'status', '--workdir', workdir)
        assert 'c1-container-sync1' in status.stdout, status.stdout
    finally:
        down = run_cli('dev', 'down', '--workdir', workdir)
    assert down.returncode == 0, down.stderr
    _assert_nothing_left(workdir)


def test_no_container_sync_is_said(tmp_path, base_port):
    workdir = str(tmp_path / 'nocs')
    out = run_cli('dev', 'up', '--workdir', workdir, '--clusters', '2',
                  '--s3', 'none', '--base-port',
                  str(_second_base(base_port, 4)), '--no-container-sync')
    try:
        assert out.returncode == 0, out.stderr
        assert 'container-sync  not running (objects reach other ' \
            'clusters only when it runs' in out.stdout, out.stdout
        status = run_cli('dev', 'status', '--workdir', workdir)
        assert 'container-sync' not in status.stdout, status.stdout
    finally:
        down = run_cli('dev', 'down', '--workdir', workdir)
    assert down.returncode == 0, down.stderr


def _assert_nothing_left(workdir):
    with open(os.path.join(workdir, 'run', 'procs.json')) as f:
        procs = json.load(f)
    assert procs
    for name, rec in procs.items():
        assert not pid_alive(rec['pid'], rec['cmd']), name
        for ip, port in rec['ports']:
            assert port_free(ip, port), (name, port)


def test_down_leaves_no_process(tmp_path, base_port):
    workdir = str(tmp_path / 'd')
    dep = Deployment(workdir)
    dep.up(clusters=1, s3='seaweedfs', base_port=_second_base(base_port, 2))
    try:
        # memcached, account, container, object, proxy and SeaweedFS
        assert len(dep.procs.running()) == 6
    finally:
        out = run_cli('dev', 'down', '--workdir', workdir)
    assert out.returncode == 0, out.stderr
    assert 'stopped 6 processes' in out.stdout
    _assert_nothing_left(workdir)
    status = run_cli('dev', 'status', '--workdir', workdir)
    assert status.returncode == 3 and 'running' not in status.stdout


def test_port_in_use_is_a_clear_error(tmp_path, base_port):
    base = _second_base(base_port, 3)
    sock = socket.socket()
    sock.bind(('127.0.0.1', base + 3))  # c1's container server port
    sock.listen(1)
    try:
        out = run_cli('dev', 'up', '--workdir', str(tmp_path / 'p'),
                      '--clusters', '1', '--s3', 'none',
                      '--base-port', str(base))
    finally:
        sock.close()
    assert out.returncode == 1
    assert out.stderr.strip() == (
        'swiftsync dev: error: port 127.0.0.1:%d (c1 node1 container) is '
        'already in use; pick another --base-port' % (base + 3))
    assert not os.path.exists(str(tmp_path / 'p' / 'run' / 'procs.json'))


def test_missing_memcached_is_a_clear_error(tmp_path, base_port):
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bindir)  # the venv only: no memcached
    out = run_cli('dev', 'up', '--workdir', str(tmp_path / 'm'),
                  '--clusters', '1', '--s3', 'none', '--base-port',
                  str(_second_base(base_port, 3)), env=env)
    assert out.returncode == 1
    assert out.stderr.strip() == ('swiftsync dev: error: memcached not found '
                                  'on PATH (apt-get install memcached)')


def test_dead_server_at_start_stops_everything(tmp_path, base_port):
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'memcached').write_text('#!/bin/sh\necho "boom: no memory"\n'
                                    'exit 1\n')
    (fake / 'memcached').chmod(0o755)
    env = dict(os.environ, PATH='%s:%s' % (fake, os.environ['PATH']))
    workdir = str(tmp_path / 'x')
    out = run_cli('dev', 'up', '--workdir', workdir, '--clusters', '1',
                  '--s3', 'seaweedfs', '--base-port',
                  str(_second_base(base_port, 3)), env=env)
    assert out.returncode == 1
    assert out.stderr.startswith(
        'swiftsync dev: error: c1-memcached died at start: boom: no memory')
    assert len(out.stderr.strip().splitlines()) == 1
    _assert_nothing_left(workdir)


def test_unknown_filter_and_bad_counts_are_refused(tmp_path):
    out = run_cli('dev', 'up', '--workdir', str(tmp_path / 'f'),
                  '--filters', 'nosuch')
    assert out.returncode == 1 and 'unknown filter(s) nosuch' in out.stderr
    out = run_cli('dev', 'up', '--workdir', str(tmp_path / 'f'),
                  '--clusters', '0')
    assert out.returncode == 1 and '--clusters must be 1..9' in out.stderr
    out = run_cli('dev', 'up', '--workdir', str(tmp_path / 'f'),
                  '--s3', 'minio')
    assert out.returncode == 1 and "unknown --s3 'minio'" in out.stderr


def wait_for(check, timeout=60, interval=0.5):
    import time
    deadline = time.time() + timeout
    while True:
        result = check()
        if result or time.time() > deadline:
            return result
        time.sleep(interval)


def test_realm_container_sync_flows_between_clusters(deployment, env):
    c1, c2 = env['clusters']
    names = deployment.start_swift_daemon('container-sync')
    try:
        cont = 'csync-' + uuid.uuid4().hex[:8]
        key = uuid.uuid4().hex
        swift(c2).put_container(cont, headers={'X-Container-Sync-Key': key})
        swift(c1).put_container(cont, headers={
            'X-Container-Sync-Key': key,
            'X-Container-Sync-To': '//%s/c2/%s/%s' % (
                env['realm']['name'], c2['account'], cont)})
        swift(c1).put_object(cont, 'synced', b'across clusters')

        def arrived():
            try:
                return swift(c2).get_object(cont, 'synced')[1]
            except swiftclient.ClientException:
                return None
        assert wait_for(arrived) == b'across clusters'
    finally:
        assert deployment.procs.stop(names) == []


def test_generated_confs_load_with_the_operator_config(env):
    from swiftsync import config
    for c in env['clusters']:
        for node in c['nodes']:
            conf = config.load(node['swiftsync_conf'])
            assert conf.globals.cluster == c['name']
            assert conf.my_cluster().proxy_url == c['proxy_url']
            assert sorted(conf.targets) == sorted(c['targets'])
            assert conf.targets['s3'].bucket == 'swiftsync'
            assert conf.globals.devices == node['devices']
            peer = [p for p in conf.peers()][0]
            other = [o for o in env['clusters'] if o['name'] != c['name']][0]
            assert peer.name == other['name']
    # peers share one secret per pair
    c1 = config.load(env['clusters'][0]['swiftsync_conf'])
    c2 = config.load(env['clusters'][1]['swiftsync_conf'])
    assert c1.clusters['c2'].secret == c2.clusters['c1'].secret
