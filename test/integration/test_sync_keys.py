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

"""The sync_keys filter and `swiftsync keys` against real clusters running
Swift's container-sync daemon."""

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pytest
import swiftclient

from swiftsync.devcluster import Deployment

from .clients import swift
from .conftest import BASE_PORT

SWIFTSYNC = [sys.executable, '-m', 'swiftsync.cli.main']
SHORT_GRACE = 12
MIN_LENGTH = 32


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def wait_for(fn, timeout, what):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError('timed out after %ds waiting for %s'
                                 % (timeout, what))
        time.sleep(0.3)


def has_object(conn, container, name):
    try:
        conn.head_object(container, name)
        return True
    except swiftclient.ClientException as e:
        if e.http_status == 404:
            return False
        raise


def names(conn, container):
    return {o['name'] for o in conn.get_container(container,
                                                  full_listing=True)[1]}


def write_profiles(path, clusters):
    with open(path, 'w') as f:
        for c in clusters:
            f.write('[profile:%s]\nauth = %s\nuser = %s\nkey = %s\n\n' % (
                c['name'], c['auth_url'], c['user'], c['key']))
    return str(path)


def keys_cli(*args, env=None):
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(('ST_', 'OS_'))}
    environ.update(env or {})
    return subprocess.run(SWIFTSYNC + ['keys'] + list(args),
                          capture_output=True, text=True, timeout=60,
                          env=environ)


def log_lines(deployment, name, since=0):
    path = deployment.procs.log_path(name)
    with open(path, errors='replace') as f:
        f.seek(since)
        return f.read().splitlines()


def log_size(deployment, name):
    try:
        return os.path.getsize(deployment.procs.log_path(name))
    except OSError:
        return 0


def sync_401s(deployment, container, since):
    """401s of container-sync for ``container``: the daemon's 'Unauth'
    lines on c1 and the receiving proxy's 401 lines on c2."""
    unauth = [line for line in log_lines(deployment, 'c1-container-sync1',
                                         since['sync'])
              if 'Unauth' in line and '/%s' % container in line]
    refused = [line for line in log_lines(deployment, 'c2-proxy',
                                          since['proxy'])
               if '/%s/' % container in line and
               re.search(r' HTTP/1\.[01] 401 ', line)]
    return unauth + refused


def offsets(deployment):
    return {'sync': log_size(deployment, 'c1-container-sync1'),
            'proxy': log_size(deployment, 'c2-proxy')}


# The filter on its own: dedicated clusters whose pipelines hold sync_keys
# and no other swiftsync filter (autosync mirrors every container and sets up
# its own sync, which is not what these tests are about).
@pytest.fixture(scope='module')
def deployment(tmp_path_factory):
    dep = Deployment(str(tmp_path_factory.mktemp('keys')))
    dep.up(clusters=2, s3='none', filters='sync_keys',
           base_port=BASE_PORT + 600)
    yield dep
    dep.down()


@pytest.fixture(scope='module')
def env(deployment):
    return deployment.env


@pytest.fixture(scope='module')
def sync_daemon(deployment):
    started = deployment.start_swift_daemon('container-sync')
    yield
    deployment.procs.stop(started)


@pytest.fixture
def profiles(env, tmp_path):
    return write_profiles(tmp_path / 'profiles.conf', env['clusters'])


# -- the filter ---------------------------------------------------------------

def test_generated_key_makes_objects_flow(env, deployment, sync_daemon):
    c1, c2 = env['clusters']
    cont = unique('gen')
    src, dst = swift(c1), swift(c2)
    src.put_container(cont, headers={
        'X-Container-Sync-To': '//dev/c2/AUTH_test/%s' % cont})
    key = src.head_container(cont)['x-container-sync-key']
    assert re.fullmatch(r'[A-Za-z0-9_-]{43}', key)  # 256 bits, URL-safe
    # a second container gets another key
    other = unique('gen')
    src.put_container(other, headers={
        'X-Container-Sync-To': '//dev/c2/AUTH_test/%s' % other})
    assert src.head_container(other)['x-container-sync-key'] != key
    # the key shows nowhere but in the owner's HEAD
    info = json.dumps(src.get_capabilities())
    assert key not in info and '"sync_keys"' in info
    dst.put_container(cont, headers={'X-Container-Sync-Key': key})
    src.put_object(cont, 'hello', b'generated keys work')
    wait_for(lambda: has_object(dst, cont, 'hello'), 30, 'hello on c2')
    assert dst.get_object(cont, 'hello')[1] == b'generated keys work'
    for name in ('c1-proxy', 'c2-proxy', 'c1-container-sync1'):
        assert not any(key in line for line in log_lines(deployment, name))


def test_non_owner_can_neither_see_nor_set_keys(env):
    c1 = env['clusters'][0]
    owner, other = swift(c1), swift(c1, user=2)
    cont = unique('acl')
    owner.put_container(cont, headers={
        'X-Container-Sync-To': '//dev/c2/AUTH_test/%s' % cont,
        'X-Container-Read': 'test2:tester2'})
    key = owner.head_container(cont)['x-container-sync-key']
    url = owner.get_auth()[0]
    _, token2 = other.get_auth()
    seen = swiftclient.head_container(url, token2, cont)
    assert 'x-container-sync-key' not in seen
    assert 'x-container-sync-to' not in seen
    assert key not in json.dumps(dict(seen))
    for headers in ({'X-Container-Sync-Key': 'k' * 43},
                    {'X-Container-Sync-To': '//dev/c2/AUTH_test2/x'}):
        with pytest.raises(swiftclient.ClientException) as e:
            swiftclient.post_container(url, token2, cont, headers)
        assert e.value.http_status == 403
    assert owner.head_container(cont)['x-container-sync-key'] == key


@pytest.mark.parametrize('sync_to,reason', [
    ('//nosuchrealm/c2/AUTH_test/x', "No realm key for 'nosuchrealm'"),
    ('//dev/c9/AUTH_test/x', "No cluster endpoint for 'dev' 'c9'"),
])
def test_unknown_realm_or_cluster_is_refused(env, sync_to, reason):
    conn = swift(env['clusters'][0])
    cont = unique('bad')
    with pytest.raises(swiftclient.ClientException) as e:
        conn.put_container(cont, headers={'X-Container-Sync-To': sync_to})
    assert e.value.http_status == 400
    assert e.value.http_response_content.decode() == reason


# -- rotation under continuous writes ----------------------------------------

def test_rotation_under_continuous_writes_loses_nothing(
        env, deployment, sync_daemon, profiles):
    c1, c2 = env['clusters']
    cont = unique('rot')
    out = keys_cli('link', '--profiles', profiles, 'c1:' + cont,
                   'c2:' + cont)
    assert out.returncode == 0, out.stderr
    assert 'X-Container-Sync-To: //DEV/C2/AUTH_test/%s' % cont in out.stdout
    src, dst = swift(c1), swift(c2)
    key1 = src.head_container(cont)['x-container-sync-key']
    assert key1 not in out.stdout + out.stderr
    since = offsets(deployment)

    written, stop = [], threading.Event()

    def writer():
        conn = swift(c1)
        while not stop.is_set():
            name = 'obj-%04d' % len(written)
            conn.put_object(cont, name, name.encode())
            written.append(name)
            time.sleep(0.2)

    # Only one previous key is kept: the two rotations are further apart
    # than a daemon pass lasts.
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(2)
        # a slow operator: the source keeps the old key through a daemon
        # pass or two while writes go on
        key2 = 'slow-rotation-' + uuid.uuid4().hex * 2
        dst.post_container(cont, headers={'X-Container-Sync-Key': key2})
        time.sleep(7)
        src.post_container(cont, headers={'X-Container-Sync-Key': key2})
        time.sleep(5)
        # what an operator runs: destination first, then source
        out = keys_cli('rotate', '--profiles', profiles, 'c1:' + cont,
                       'c2:' + cont)
        assert out.returncode == 0, out.stderr
        key3 = src.head_container(cont)['x-container-sync-key']
        assert key3 != key2 and dst.head_container(cont)[
            'x-container-sync-key'] == key3
        assert 'accepts the previous one for 3600s more' in out.stdout
        time.sleep(2)
    finally:
        stop.set()
        thread.join()
    assert len(written) > 40
    wait_for(lambda: names(dst, cont) >= set(written), 45,
             'all %d objects on c2' % len(written))
    assert sync_401s(deployment, cont, since) == []
    # the previous key was really needed, and accepted
    accepted = [line for line in log_lines(deployment, 'c2-proxy',
                                           since['proxy'])
                if '/%s/' % cont in line and 'sk:prev-key' in line]
    assert accepted
    assert all(' 401 ' not in line for line in accepted)
    for key in (key1, key2, key3):
        for name in ('c1-proxy', 'c2-proxy', 'c1-container-sync1'):
            assert not any(key in line for line in log_lines(deployment,
                                                             name))


# -- swiftsync keys ----------------------------------------------------------

def test_link_both_ways_with_env_credentials_and_flags(env, sync_daemon):
    c1, c2 = env['clusters']
    cont = unique('both')
    out = keys_cli('link', '--both-ways', '--show-key', '--json',
                   cont, cont, '--dst-auth', c2['auth_url'],
                   '--dst-user', c2['user'], '--dst-key', c2['key'],
                   env={'ST_AUTH': c1['auth_url'], 'ST_USER': c1['user'],
                        'ST_KEY': c1['key']})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result['sync_to'] == '//DEV/C2/AUTH_test/%s' % cont
    assert result['sync_to_back'] == '//DEV/C1/AUTH_test/%s' % cont
    assert result['verified'] and result['both_ways']
    a, b = swift(c1), swift(c2)
    assert a.head_container(cont)['x-container-sync-key'] == result['key']
    assert b.head_container(cont)['x-container-sync-key'] == result['key']
    a.put_object(cont, 'from-c1', b'1')
    b.put_object(cont, 'from-c2', b'2')
    wait_for(lambda: has_object(b, cont, 'from-c1') and
             has_object(a, cont, 'from-c2'), 30, 'objects both ways')


def test_link_missing_destination_with_no_create(env, profiles):
    cont = unique('nocreate')
    out = keys_cli('link', '--no-create', '--profiles', profiles,
                   'c1:' + cont, 'c2:' + cont)
    assert out.returncode == 1
    assert out.stdout == ''
    assert out.stderr == (
        'swiftsync keys: error: destination container %s/v1/AUTH_test/%s '
        'does not exist (--no-create)\n' % (env['clusters'][1]['proxy_url'],
                                            cont))
    for c in env['clusters']:
        with pytest.raises(swiftclient.ClientException) as e:
            swift(c).head_container(cont)
        assert e.value.http_status == 404


def test_link_creates_a_missing_destination(env, profiles):
    cont = unique('create')
    out = keys_cli('link', '--profiles', profiles, 'c1:' + cont,
                   'c2:' + cont)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == ('destination  %s/v1/AUTH_test/%s: created, '
                        'X-Container-Sync-Key set'
                        % (env['clusters'][1]['proxy_url'], cont))
    key = swift(env['clusters'][1]).head_container(cont)[
        'x-container-sync-key']
    # a second source into the same destination shares its key
    other = unique('create')
    out = keys_cli('link', '--profiles', profiles, 'c1:' + other,
                   'c2:' + cont)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].endswith(
        '/%s: X-Container-Sync-Key kept' % cont)
    assert swift(env['clusters'][0]).head_container(other)[
        'x-container-sync-key'] == key
    assert swift(env['clusters'][1]).head_container(cont)[
        'x-container-sync-key'] == key


@pytest.mark.parametrize('action', ['link', 'audit'])
def test_wrong_credentials_one_line_exit_2(env, action, tmp_path):
    c1 = env['clusters'][0]
    args = ['c1:x', 'c2:y'] if action == 'link' else ['c1']
    bad = [dict(c, key='wrong-password') for c in env['clusters']]
    out = keys_cli(action, '--profiles',
                   write_profiles(tmp_path / 'bad.conf', bad), *args)
    assert out.returncode == 2
    assert out.stdout == ''
    what = 'source' if action == 'link' else 'the audited account'
    assert out.stderr == (
        'swiftsync keys: error: authentication failed for %s: test:tester '
        'at %s answered 401\n' % (what, c1['auth_url']))
    assert 'wrong-password' not in out.stderr


def test_no_credentials_at_all_is_a_usage_error():
    out = keys_cli('link', 'a', 'b')
    assert out.returncode == 2
    assert out.stderr.startswith('swiftsync keys: error: no credentials for '
                                 'source: set ST_AUTH/ST_USER/ST_KEY')


def test_audit_finds_planted_mismatches(env, profiles):
    c1, c2 = env['clusters']
    src, dst = swift(c1, user=2), swift(c2, user=2)
    tag = uuid.uuid4().hex[:6]
    good, wrong, missing, nokey = ('%s-%s' % (n, tag) for n in (
        'good', 'wrongkey', 'missing', 'nokey'))
    prof = write_profiles(os.path.join(os.path.dirname(profiles),
                                       'p2.conf'),
                          [dict(c, user=c['user2'], key=c['key2'])
                           for c in env['clusters']])
    for cont in (good, wrong):
        out = keys_cli('link', '--profiles', prof, 'c1:' + cont,
                       'c2:' + cont)
        assert out.returncode == 0, out.stderr
    dst.post_container(wrong, headers={'X-Container-Sync-Key': 'x' * 43})
    src.put_container(missing, headers={
        'X-Container-Sync-To': '//dev/c2/AUTH_test2/%s' % missing})
    dst.put_container(nokey)
    src.put_container(nokey, headers={
        'X-Container-Sync-To': '//dev/c2/AUTH_test2/%s' % nokey})
    out = keys_cli('audit', '--json', '--profiles', prof, 'c1')
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    rows = {r['container']: r for r in result['results']}
    assert rows[good]['status'] == 'ok'
    assert (rows[wrong]['status'], rows[wrong]['code']) == (
        'problem', 'key-mismatch')
    assert (rows[missing]['status'], rows[missing]['code']) == (
        'problem', 'destination-missing')
    assert (rows[nokey]['status'], rows[nokey]['code']) == (
        'problem', 'destination-no-key')
    assert result['problems'] >= 3
    for key in (src.head_container(good)['x-container-sync-key'], 'x' * 43):
        assert key not in out.stdout
    text = keys_cli('audit', '--profiles', prof, 'c1')
    assert text.returncode == 1
    assert ('PROBLEM   %s -> //dev/c2/AUTH_test2/%s: destination container '
            'does not exist' % (missing, missing)) in text.stdout.splitlines()
    # fixed, the same containers audit clean
    for cont in (wrong, missing, nokey):
        src.delete_container(cont)
    out = keys_cli('audit', '--json', '--profiles', prof, '--peer', 'c2',
                   'c1')
    rows = {r['container']: r for r in json.loads(out.stdout)['results']}
    assert rows[good]['status'] == 'ok'
    assert not {wrong, missing, nokey} & set(rows)


# -- a deployment with a short grace period and a key policy -----------------

def _restart(dep, name, url):
    dep.procs.stop([name])
    dep.procs.restart(name)
    wait_for(lambda: _healthy(url), 30, name)


def _healthy(url):
    try:
        with urllib.request.urlopen(url + '/healthcheck', timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope='module')
def policy_dep(tmp_path_factory):
    """Two clusters whose operators set key_grace_period = 12s in
    swiftsync.conf and min_key_length = 32 in the filter section."""
    dep = Deployment(str(tmp_path_factory.mktemp('grace')))
    env = dep.up(clusters=2, s3='none', filters='sync_keys',
                 base_port=BASE_PORT + 300)
    try:
        for c in env['clusters']:
            with open(c['swiftsync_conf']) as f:
                text = f.read()
            with open(c['swiftsync_conf'], 'w') as f:
                f.write(text.replace('[swiftsync]\n', '[swiftsync]\n'
                                     'key_grace_period = %ds\n'
                                     % SHORT_GRACE, 1))
            with open(c['proxy_conf']) as f:
                text = f.read()
            with open(c['proxy_conf'], 'w') as f:
                f.write(text.replace('use = egg:swiftsync#sync_keys\n',
                                     'use = egg:swiftsync#sync_keys\n'
                                     'min_key_length = %d\n' % MIN_LENGTH))
            _restart(dep, c['name'] + '-proxy', c['proxy_url'])
        names = dep.start_swift_daemon('container-sync', clusters=['c1'])
        yield dep
        dep.procs.stop(names)
    finally:
        dep.down()


def test_policy_shows_in_info(policy_dep):
    info = swift(policy_dep.env['clusters'][0]).get_capabilities()
    assert info['sync_keys'] == {'key_grace_period': SHORT_GRACE,
                                 'min_key_length': MIN_LENGTH,
                                 'generated_key_bits': 256}


def test_key_below_policy_length_is_refused(policy_dep):
    conn = swift(policy_dep.env['clusters'][0])
    cont = unique('short')
    conn.put_container(cont)
    with pytest.raises(swiftclient.ClientException) as e:
        conn.post_container(cont, headers={
            'X-Container-Sync-Key': 'k' * (MIN_LENGTH - 1)})
    assert e.value.http_status == 400
    assert e.value.http_response_content == (
        b'X-Container-Sync-Key is too short: this cluster requires at '
        b'least 32 characters.\n')
    assert 'x-container-sync-key' not in conn.head_container(cont)
    conn.post_container(cont, headers={'X-Container-Sync-Key':
                                       'k' * MIN_LENGTH})
    assert conn.head_container(cont)['x-container-sync-key'] == \
        'k' * MIN_LENGTH
    # a generated key always satisfies the policy
    conn.post_container(cont, headers={'X-Container-Sync-Key': '',
                                       'X-Container-Sync-To': ''})
    conn.post_container(cont, headers={
        'X-Container-Sync-To': '//dev/c2/AUTH_test/%s' % cont})
    assert len(conn.head_container(cont)['x-container-sync-key']) == 43


def test_old_key_gets_401_after_the_grace_period(policy_dep, tmp_path):
    dep = policy_dep
    c1, c2 = dep.env['clusters']
    src, dst = swift(c1), swift(c2)
    profiles = write_profiles(tmp_path / 'p.conf', dep.env['clusters'])
    cont = unique('grace')
    out = keys_cli('link', '--profiles', profiles, 'c1:' + cont,
                   'c2:' + cont)
    assert out.returncode == 0, out.stderr
    src.put_object(cont, 'before', b'1')
    wait_for(lambda: has_object(dst, cont, 'before'), 30, 'before on c2')
    # the destination is rotated; its operator forgets the source
    new_key = 'n' * 43
    since = offsets(dep)
    rotated_at = time.time()
    dst.post_container(cont, headers={'X-Container-Sync-Key': new_key})
    src.put_object(cont, 'within-grace', b'2')
    wait_for(lambda: has_object(dst, cont, 'within-grace'), SHORT_GRACE,
             'within-grace on c2 during the grace period')
    assert sync_401s(dep, cont, since) == []
    time.sleep(max(0, rotated_at + SHORT_GRACE + 1 - time.time()))
    since = offsets(dep)
    src.put_object(cont, 'after-grace', b'3')
    refused = wait_for(lambda: sync_401s(dep, cont, since), 30,
                       'a 401 for the old key')
    assert any("Unauth 'AUTH_test/%s'" % cont in line for line in refused)
    assert any('sk:prev-key-expired' in line for line in log_lines(
        dep, 'c2-proxy', since['proxy']))
    assert not has_object(dst, cont, 'after-grace')
    # the source gets the new key too: the refused row goes through
    src.post_container(cont, headers={'X-Container-Sync-Key': new_key})
    wait_for(lambda: has_object(dst, cont, 'after-grace'), 30,
             'after-grace on c2 once both sides agree')


def test_audit_reports_a_cluster_gone_from_the_realm(policy_dep, tmp_path):
    dep = policy_dep
    c1, c2 = dep.env['clusters']
    profiles = write_profiles(tmp_path / 'p.conf', dep.env['clusters'])
    cont = unique('gone')
    assert keys_cli('link', '--profiles', profiles, 'c1:' + cont,
                    'c2:' + cont).returncode == 0
    # the operator of c1 drops c2 from the realm
    realms = os.path.join(c1['swift_dir'], 'container-sync-realms.conf')
    with open(realms) as f:
        text = f.read()
    with open(realms, 'w') as f:
        f.write(re.sub(r'cluster_c2 = .*\n', '', text))
    _restart(dep, 'c1-proxy', c1['proxy_url'])
    out = keys_cli('audit', '--json', '--profiles', profiles, 'c1')
    assert out.returncode == 1, out.stderr
    rows = {r['container']: r for r in json.loads(out.stdout)['results']}
    assert rows[cont]['code'] == 'unknown-cluster'
    assert rows[cont]['reason'] == 'cluster C2 is not in realm DEV'
