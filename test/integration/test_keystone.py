"""Every filter under a real Keystone (``swiftsync dev up --auth
keystone``): one Keystone (pip ``keystone`` on sqlite) for two clusters,
each a region of it, proxies with ``authtoken`` + ``keystoneauth``.

What differs from tempauth, and is checked here: the account is
``AUTH_<project id>`` on every cluster; a token is good on every cluster;
the owner is a user with an operator role on the project (``admin`` or
``member``), not whoever holds a token of the account; ACLs name
``project:user`` (names or ids); the ``reader`` role reads a project's
objects without an ACL and writes nothing; remote Swift targets log in
with Keystone v3 passwords or application credentials and pick their
cluster by region.
"""

import hashlib
import json
import os
import subprocess
import sys
import uuid

import pytest
import requests
import swiftclient

from swiftsync import config, stores
from swiftsync.devcluster.derive import derive_conf
from swiftsync.middleware.autosync import LOCAL_ONLY_HEADER

from test.integration.clients import keystone_swift, swift
from test.integration.deployments import own_deployment
from test.integration.test_devcluster import wait_for

BIN = os.path.dirname(sys.executable)
OPTIN = 'X-Container-Cloud-Sync-'


dep, env = own_deployment('keystone', 2100, clusters=2, replicas=1,
                          s3='seaweedfs', auth='keystone')


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def as_user(cluster, env, name):
    u = env['keystone']['users'][name]
    return keystone_swift(cluster, name, u['password'], u['project'],
                          u['domain'])


def os_environ(env, region, user='tester'):
    """A shell's environment for the swift CLI, as the seeds set it."""
    u = env['keystone']['users'][user]
    out = {k: v for k, v in os.environ.items()
           if not k.startswith(('OS_', 'ST_'))}
    out.update({'OS_AUTH_URL': env['keystone']['url'],
                'OS_IDENTITY_API_VERSION': '3', 'OS_USERNAME': user,
                'OS_PASSWORD': u['password'], 'OS_PROJECT_NAME': u['project'],
                'OS_USER_DOMAIN_NAME': u['domain'],
                'OS_PROJECT_DOMAIN_NAME': u['domain'],
                'OS_REGION_NAME': region})
    return out


def cli(env, region, *args, user='tester', data=None):
    proc = subprocess.run([os.path.join(BIN, 'swift')] + list(args),
                          env=os_environ(env, region, user), input=data,
                          capture_output=True, timeout=120)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def status_of(call):
    try:
        call()
    except swiftclient.ClientException as e:
        return e.http_status
    return 200


# -- the deployment --------------------------------------------------------

def test_one_project_one_account_on_every_cluster(env, c1, c2):
    project = env['keystone']['users']['tester']['project_id']
    assert c1['account'] == c2['account'] == 'AUTH_' + project
    for c in (c1, c2):
        url, token = swift(c).get_auth()
        assert url == '%s/v1/%s' % (c['proxy_url'], c['account'])
        # one token, every cluster
        assert requests.head(
            '%s/v1/%s' % (c2['proxy_url'], c['account']),
            headers={'X-Auth-Token': token}, timeout=30).status_code == 204
    # no token, no account
    r = requests.get('%s/v1/%s' % (c1['proxy_url'], c1['account']),
                     timeout=30)
    assert r.status_code == 401


# -- autosync ----------------------------------------------------------------

def test_swift_cli_with_os_variables_across_regions(env, c1, c2, tmp_path):
    cont = unique('ks-cli')
    src = tmp_path / 'big.bin'
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    rc, out, err = cli(env, 'c1', 'upload', '--use-slo', '-S', '1048576',
                       '--object-name', 'big.bin', cont, str(src))
    assert rc == 0, err
    # the container is mirrored into the same project's account on c2
    rc, out, err = cli(env, 'c2', 'stat', cont)
    assert rc == 0, err
    assert 'Account: ' + c2['account'] in out
    # read through c2 at once, listed there once container-sync ran
    dst = tmp_path / 'back.bin'
    rc, out, err = cli(env, 'c2', 'download', cont, 'big.bin', '-o',
                       str(dst))
    assert rc == 0, err
    assert dst.read_bytes() == src.read_bytes()
    assert wait_for(lambda: 'big.bin' in cli(env, 'c2', 'list', cont)[1],
                    60)  # listed on c2 once container-sync ran
    rc, out, err = cli(env, 'c1', 'delete', cont)
    assert rc == 0, err
    # (the CLI leaves the empty _segments container, as without autosync)
    assert cont not in cli(env, 'c2', 'list')[1].split()
    assert cont not in cli(env, 'c1', 'list')[1].split()


def test_owner_is_an_operator_role_not_a_token_of_the_account(env, c1, c2):
    owner = swift(c1)
    cont = unique('ks-acl')
    tester3 = env['keystone']['users']['tester3']
    # an ACL of the project:user form, by names
    owner.put_container(cont, headers={
        'X-Container-Read': 'test:tester3',
        'X-Container-Write': 'test:tester3'})
    owner.put_object(cont, 'o', b'by the owner')
    other = as_user(c1, env, 'tester3')
    assert other.get_object(cont, 'o')[1] == b'by the owner'
    other.put_object(cont, 'by3', b'written under the ACL')
    # the ACL reaches the mirror: read through c2 as tester3
    assert as_user(c2, env, 'tester3').get_object(cont, 'by3')[1] == \
        b'written under the ACL'
    # a token of the account without an operator role owns nothing
    for headers in ({OPTIN + 'Target': 's3'},
                    {'X-Container-Sync-Key': 'k' * 43},
                    {'X-Container-Read': '.r:*'}):
        assert status_of(lambda: other.post_container(cont, headers)) == \
            403, headers
    seen = other.head_container(cont)
    assert 'x-container-sync-key' not in seen
    assert not [h for h in seen if h.startswith('x-container-cloud-sync')]
    # and with no ACL, nothing at all
    assert tester3['role'] == 'anotherrole'
    bare = unique('ks-noacl')
    owner.put_container(bare)
    assert status_of(lambda: other.get_container(bare)) == 403
    assert status_of(lambda: as_user(c2, env, 'tester3').get_container(
        bare)) == 403


def test_reader_role_reads_and_writes_nothing(env, c1, c2):
    owner = swift(c1)
    cont = unique('ks-reader')
    owner.put_container(cont)
    owner.put_object(cont, 'o', b'readable')
    reader = as_user(c1, env, 'reader')
    assert reader.get_object(cont, 'o')[1] == b'readable'
    assert as_user(c2, env, 'reader').get_object(cont, 'o')[1] == \
        b'readable'  # through autosync's read-through
    assert status_of(lambda: reader.put_object(cont, 'x', b'no')) == 403
    assert status_of(lambda: reader.put_container(unique('ks-r'))) == 403
    assert status_of(lambda: reader.post_container(
        cont, {OPTIN + 'Target': 's3'})) == 403


# -- shunt -------------------------------------------------------------------

def test_archived_objects_only_to_whom_swift_allows(env, c1):
    owner = swift(c1)
    cont = unique('ks-shunt')
    owner.put_container(cont, headers={
        OPTIN + 'Target': 's3', OPTIN + 'Mode': 'archive',
        OPTIN + 'After': '99999999'})
    conf = config.load(c1['swiftsync_conf'])
    store = stores.open_store(conf.target('s3'), c1['account'], cont)
    data = b'archived under keystone'
    store.put('remote.txt', iter([data]), len(data), 'text/plain', {},
              etag=hashlib.md5(data).hexdigest())
    assert owner.get_object(cont, 'remote.txt')[1] == data
    assert 'remote.txt' in [o['name'] for o in owner.get_container(cont)[1]]
    assert as_user(c1, env, 'reader').get_object(cont, 'remote.txt')[1] \
        == data
    other = as_user(c1, env, 'tester3')
    assert status_of(lambda: other.get_object(cont, 'remote.txt')) == 403
    assert status_of(lambda: other.get_container(cont)) == 403
    # a read ACL by ids: the project and the user of Keystone
    u = env['keystone']['users']['tester3']
    owner.post_container(cont, {
        'X-Container-Read': '%s:%s' % (u['project_id'], u['id'])})
    assert other.get_object(cont, 'remote.txt')[1] == data
    assert status_of(lambda: other.put_object(cont, 'w', b'no')) == 403
    anonymous = requests.get('%s/v1/%s/%s/remote.txt' % (
        c1['proxy_url'], c1['account'], cont), timeout=30)
    assert anonymous.status_code == 401


# -- remote Swift targets with Keystone v3 ----------------------------------

def _application_credential(env, user='tester'):
    """(id, secret) of a new application credential of ``user``."""
    ks = env['keystone']
    u = ks['users'][user]
    r = requests.post(ks['url'] + '/auth/tokens', json={'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'id': u['id'], 'password': u['password']}}},
        'scope': {'project': {'id': u['project_id']}}}}, timeout=30)
    assert r.status_code == 201, r.text
    token = r.headers['X-Subject-Token']
    r = requests.post('%s/users/%s/application_credentials' % (
        ks['url'], u['id']), headers={'X-Auth-Token': token},
        json={'application_credential': {'name': unique('sync')}},
        timeout=30)
    assert r.status_code == 201, r.text
    cred = r.json()['application_credential']
    return cred['id'], cred['secret']


def test_sync_daemon_to_a_keystone_swift_target(env, c1, c2, tmp_path):
    """A Keystone v3 Swift target by user, project and region (as the dev
    operator file's [target:c2]), and one by application credential.
    Neither secret shows in the daemon's output."""
    cred_id, secret = _application_credential(env)
    # (a suffix: the remote container is not the autosync mirror of the
    # source, which c2 would answer for by reading through from c1)
    conf = derive_conf(
        c1['swiftsync_conf'], tmp_path / 'appcred.conf',
        '[target:c2-password]\ntype = swift\nauth_url = %s\n'
        'auth_version = 3\nuser = tester\nkey = testing\n'
        'project_name = test\nregion_name = c2\n'
        'container_suffix = -password\n\n'
        '[target:c2-appcred]\ntype = swift\nauth_url = %s\n'
        'auth_version = 3\napplication_credential_id = %s\n'
        'application_credential_secret = %s\nregion_name = c2\n'
        'container_suffix = -appcred\n' % (
            env['keystone']['url'], env['keystone']['url'], cred_id,
            secret),
        state_dir=str(tmp_path / 'state'))
    owner = swift(c1)
    for target in ('c2-password', 'c2-appcred'):
        cont = unique('ks-sync')
        owner.put_container(cont)
        owner.put_object(cont, 'o', b'synced through keystone',
                         headers={'X-Object-Meta-Who': 'me'})
        mapped = derive_conf(
            conf, tmp_path / ('%s.conf' % target),
            '[mapping:m]\naccount = %s\ncontainer = %s\ntarget = %s\n'
            % (c1['account'], cont, target))
        proc = subprocess.run(
            [os.path.join(BIN, 'swiftsync'), 'sync', mapped, '--once', '-v'],
            capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert secret not in proc.stdout + proc.stderr
        assert 'testing' not in proc.stdout + proc.stderr
        remote = cont + target[len('c2'):]
        # stored on c2 itself (the region): not read through from c1
        hdrs, body = swift(c2).get_object(remote, 'o', headers={
            LOCAL_ONLY_HEADER: 'true'})
        assert body == b'synced through keystone'
        assert hdrs['x-object-meta-who'] == 'me'


def test_a_bad_keystone_secret_refuses_to_sync_and_says_why(env, c1,
                                                             tmp_path):
    conf = derive_conf(
        c1['swiftsync_conf'], tmp_path / 'bad.conf',
        '[target:c2-bad]\ntype = swift\nauth_url = %s\nauth_version = 3\n'
        'user = tester\nkey = wrong-password\nproject_name = test\n'
        'region_name = c2\n' % env['keystone']['url'],
        state_dir=str(tmp_path / 'state'))
    owner = swift(c1)
    cont = unique('ks-bad')
    owner.put_container(cont)
    owner.put_object(cont, 'o', b'stays local')
    conf = derive_conf(conf, tmp_path / 'bad-mapped.conf',
                       '[mapping:m]\naccount = %s\ncontainer = %s\n'
                       'target = c2-bad\n' % (c1['account'], cont))
    subprocess.run([os.path.join(BIN, 'swiftsync'), 'sync', conf, '--once'],
                   capture_output=True, text=True, timeout=120)
    proc = subprocess.run([os.path.join(BIN, 'swiftsync'), 'status', conf],
                          capture_output=True, text=True, timeout=60)
    assert '401' in proc.stdout and 'credentials' in proc.stdout, \
        proc.stdout
    assert 'wrong-password' not in proc.stdout + proc.stderr


# -- swiftsync keys with Keystone profiles ------------------------------------

def test_keys_audit_with_keystone_profiles_per_region(env, c1, c2,
                                                      tmp_path):
    """A profile per cluster (region), Keystone v3: the audit of the c1
    account checks each Sync-To autosync set against c2 with c2's
    profile; an unknown password is a one-line error naming the user."""
    owner = swift(c1)
    cont = unique('ks-keys')
    owner.put_container(cont)
    profiles = tmp_path / 'profiles.conf'
    profiles.write_text(''.join(
        '[profile:%s]\nauth = %s\nuser = tester\nkey = %s\n'
        'auth_version = 3\nproject_name = test\nuser_domain_name = Default\n'
        'project_domain_name = Default\nregion_name = %s\n\n' % (
            name, env['keystone']['url'], key, name)
        for name, key in (('c1', 'testing'), ('c2', 'testing'),
                          ('wrong', 'not-the-password'))))
    proc = subprocess.run(
        [os.path.join(BIN, 'swiftsync'), 'keys', 'audit', 'c1', '--peer',
         'c2', '--profiles', str(profiles), '--json'],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r['container']: r for r in json.loads(proc.stdout)['results']}
    assert rows[cont]['status'] == 'ok', rows[cont]
    proc = subprocess.run(
        [os.path.join(BIN, 'swiftsync'), 'keys', 'audit', 'wrong',
         '--profiles', str(profiles)], capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 2
    assert 'authentication failed' in proc.stderr and 'tester' in \
        proc.stderr
    assert 'not-the-password' not in proc.stdout + proc.stderr


# -- swiftsync mirror with OS_* variables ---------------------------------------

@pytest.mark.parametrize('how', ['password', 'application credential'])
def test_mirror_with_os_variables(env, c1, how):
    """``swiftsync mirror`` reads Keystone credentials from the environment
    as python-swiftclient does, the cluster chosen by OS_REGION_NAME."""
    owner = swift(c1)
    cont = unique('ks-mirror')
    owner.put_container(cont)
    owner.put_object(cont, 'a/b', b'mirrored with keystone')
    shell = os_environ(env, 'c1')
    if how != 'password':
        cred_id, secret = _application_credential(env)
        for k in ('OS_USERNAME', 'OS_PASSWORD', 'OS_PROJECT_NAME',
                  'OS_USER_DOMAIN_NAME', 'OS_PROJECT_DOMAIN_NAME'):
            del shell[k]
        shell.update(OS_AUTH_TYPE='v3applicationcredential',
                     OS_APPLICATION_CREDENTIAL_ID=cred_id,
                     OS_APPLICATION_CREDENTIAL_SECRET=secret)
    s3 = env['s3_servers']['seaweedfs']
    shell.update(AWS_ACCESS_KEY_ID=s3['access_key'],
                 AWS_SECRET_ACCESS_KEY=s3['secret_key'],
                 AWS_ENDPOINT_URL=s3['endpoint'], AWS_REGION=s3['region'])
    prefix = unique('m')
    proc = subprocess.run(
        [os.path.join(BIN, 'swiftsync'), 'mirror',
         'swift://%s->s3://%s/%s' % (cont, s3['bucket'], prefix)],
        env=shell, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from test.integration.clients import s3_client
    got = s3_client(s3).get_object(Bucket=s3['bucket'],
                                   Key='%s/a/b' % prefix)['Body'].read()
    assert got == b'mirrored with keystone'
    assert 'testing' not in proc.stdout + proc.stderr
