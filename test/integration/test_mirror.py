"""`swiftsync mirror` against real Swift clusters, SeaweedFS and s3api."""

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
import swiftclient

from test.integration.clients import s3_client, swift

NAMES = ['plain.txt', 'dir/sub/deep.bin', 'héllo wörld.txt', 'a%20b%',
         'what?.txt', 'hash#tag', 'space name', 'empty']


def body_of(name):
    return b'' if name == 'empty' else (name.encode('utf-8') * 50)


def uid():
    return uuid.uuid4().hex[:10]


def mirror_env(env, cluster=None):
    s3 = env['s3']
    c = cluster or env['clusters'][0]
    out = dict(os.environ)
    out.update(AWS_ACCESS_KEY_ID=s3['access_key'],
               AWS_SECRET_ACCESS_KEY=s3['secret_key'],
               AWS_ENDPOINT_URL=s3['endpoint'], AWS_REGION=s3['region'],
               ST_AUTH=c['auth_url'], ST_USER=c['user'], ST_KEY=c['key'])
    for name in ('OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD'):
        out.pop(name, None)
    return out


def mirror(env, *args, environ=None, timeout=300):
    out = subprocess.run(
        [sys.executable, '-m', 'swiftsync.cli.main', 'mirror'] + list(args),
        capture_output=True, text=True, timeout=timeout,
        env=environ or mirror_env(env))
    return out


def run_json(env, tmp_path, *args, code=0, environ=None):
    report = str(tmp_path / ('report-%s.json' % uid()))
    out = mirror(env, *args, '--report', report, environ=environ)
    assert out.returncode == code, out.stdout + out.stderr
    with open(report) as f:
        return json.load(f), out


@pytest.fixture
def profiles(env, tmp_path):
    """A config whose targets are profiles: c1, c2, seaweedfs, s3api."""
    lines = []
    for c in env['clusters']:
        lines += ['[target:%s]' % c['name'], 'type = swift',
                  'auth_url = %s' % c['auth_url'], 'user = %s' % c['user'],
                  'key = %s' % c['key'], '']
    for kind, s3 in env['s3_servers'].items():
        lines += ['[target:%s]' % kind, 'type = s3',
                  'endpoint = %s' % s3['endpoint'],
                  'bucket = %s' % s3['bucket'],
                  'access_key = %s' % s3['access_key'],
                  'secret_key = %s' % s3['secret_key'], '']
    path = tmp_path / 'profiles.conf'
    path.write_text('\n'.join(lines))
    return str(path)


def test_s3_to_swift_then_nothing_to_do(env, tmp_path):
    client = s3_client(env['s3'])
    bucket, prefix, cont = env['s3']['bucket'], 'm-%s' % uid(), 'm-' + uid()
    for name in NAMES:
        client.put_object(Bucket=bucket, Key='%s/%s' % (prefix, name),
                          Body=body_of(name), ContentType='text/x-test',
                          Metadata={'origin': 's3'})
    conn = swift(env['clusters'][0])
    conn.put_container(cont)
    scenario = 's3://%s/%s->swift://%s' % (bucket, prefix, cont)
    first, out = run_json(env, tmp_path, scenario)
    assert first['copied'] == len(NAMES) and first['failed'] == 0
    assert first['bytes'] == sum(len(body_of(n)) for n in NAMES)
    assert 'copied %d' % len(NAMES) in out.stdout
    for name in NAMES:
        headers, body = conn.get_object(cont, name)
        assert body == body_of(name), name
        assert headers['x-object-meta-origin'] == 's3'
        assert headers['content-type'] == 'text/x-test'
    second, _ = run_json(env, tmp_path, scenario)
    assert (second['copied'], second['updated'], second['skipped']) == (
        0, 0, len(NAMES))


def test_swift_to_s3_and_changes(env, tmp_path):
    conn = swift(env['clusters'][0])
    cont, prefix = 'm-' + uid(), 'back-' + uid()
    conn.put_container(cont)
    for name in NAMES:
        conn.put_object(cont, name, body_of(name),
                        headers={'X-Object-Meta-Kind': 'ünïcode'})
    scenario = 'swift://%s->s3://%s/%s' % (cont, env['s3']['bucket'], prefix)
    first, _ = run_json(env, tmp_path, scenario)
    assert first['copied'] == len(NAMES)
    client = s3_client(env['s3'])
    got = client.get_object(Bucket=env['s3']['bucket'],
                            Key='%s/%s' % (prefix, NAMES[2]))
    assert got['Body'].read() == body_of(NAMES[2])
    # change one object's content: only it is copied again
    conn.put_object(cont, 'plain.txt', b'changed')
    again, _ = run_json(env, tmp_path, scenario)
    assert (again['updated'], again['skipped']) == (1, len(NAMES) - 1)
    assert client.get_object(Bucket=env['s3']['bucket'],
                             Key=prefix + '/plain.txt')['Body'].read() == \
        b'changed'


def test_swift_to_swift_and_s3_to_s3_with_profiles(env, tmp_path, profiles):
    c1, c2 = env['clusters']
    cont = 'm-' + uid()
    swift(c1).put_container(cont)
    swift(c2).put_container(cont)
    for name in NAMES[:4]:
        swift(c1).put_object(cont, name, body_of(name))
    prefix = 's2s-' + uid()
    result, _ = run_json(
        env, tmp_path, '--config', profiles,
        'swift://c1@%s->swift://c2@%s' % (cont, cont),
        'swift://c1@%s->s3://seaweedfs@swiftsync/%s' % (cont, prefix),
        's3://seaweedfs@swiftsync/%s->s3://s3api@swiftsync/%s' % (
            prefix, prefix))
    assert result['copied'] == 12 and result['failed'] == 0
    assert sorted(o['name'] for o in swift(c2).get_container(cont)[1]) == \
        sorted(NAMES[:4])
    s3api = s3_client(env['s3_servers']['s3api'])
    keys = [o['Key'] for o in s3api.list_objects_v2(
        Bucket='swiftsync', Prefix=prefix + '/')['Contents']]
    assert sorted(keys) == sorted(prefix + '/' + n for n in NAMES[:4])


def test_large_objects_both_ways_copy_once(env, tmp_path):
    mib = 1024 * 1024
    client = s3_client(env['s3'])
    bucket, prefix, cont = env['s3']['bucket'], 'big-' + uid(), 'm-' + uid()
    payload = os.urandom(12 * mib)
    client.put_object(Bucket=bucket, Key=prefix + '/big', Body=payload)
    conn = swift(env['clusters'][0])
    conn.put_container(cont)
    first, _ = run_json(env, tmp_path, '--segment-size', '5Mi',
                        's3://%s/%s->swift://%s' % (bucket, prefix, cont))
    assert first['copied'] == 1, first
    headers, body = conn.get_object(cont, 'big')
    assert headers.get('x-static-large-object') == 'True'
    manifest = json.loads(conn.get_object(
        cont, 'big', query_string='multipart-manifest=get')[1])
    assert [s['bytes'] for s in manifest] == [5 * mib, 5 * mib, 2 * mib]
    assert hashlib.md5(body).digest() == hashlib.md5(payload).digest()
    again, _ = run_json(env, tmp_path, '--segment-size', '5Mi',
                        's3://%s/%s->swift://%s' % (bucket, prefix, cont))
    assert (again['copied'], again['updated'], again['skipped']) == (0, 0, 1)
    # and the SLO back to S3 as a multipart upload, once
    back = 'back-' + uid()
    scenario = 'swift://%s->s3://%s/%s' % (cont, bucket, back)
    first, _ = run_json(env, tmp_path, '--segment-size', '5Mi', scenario)
    assert first['copied'] == 1
    head = client.head_object(Bucket=bucket, Key=back + '/big')
    assert head['ContentLength'] == len(payload)
    assert head['ETag'].strip('"').endswith('-3')
    again, _ = run_json(env, tmp_path, '--segment-size', '5Mi', scenario)
    assert (again['copied'], again['updated'], again['skipped']) == (0, 0, 1)


def test_dry_run_changes_nothing(env, tmp_path):
    conn = swift(env['clusters'][0])
    cont, prefix = 'm-' + uid(), 'dry-' + uid()
    conn.put_container(cont)
    conn.put_object(cont, 'a', b'a')
    result, out = run_json(env, tmp_path, '--dry-run', 'swift://%s->s3://%s/%s'
                           % (cont, env['s3']['bucket'], prefix))
    assert result['copied'] == 1 and result['dry_run'] is True
    assert out.stdout.startswith('[dry run] would copy 1')
    listing = s3_client(env['s3']).list_objects_v2(
        Bucket=env['s3']['bucket'], Prefix=prefix)
    assert listing['KeyCount'] == 0


def test_delete_and_its_guard(env, tmp_path):
    conn = swift(env['clusters'][0])
    src, dst = 'm-' + uid(), 'm-' + uid()
    conn.put_container(src)
    conn.put_container(dst)
    conn.put_object(src, 'keep', b'k')
    for name in ('old1', 'old2', 'old3'):
        conn.put_object(dst, name, b'o')
    scenario = 'swift://%s->swift://%s' % (src, dst)
    refused, _ = run_json(env, tmp_path, '--delete', '--max-delete', '2',
                          scenario, code=1)
    assert refused['deleted'] == 0
    assert 'more than --max-delete 2' in refused['failures'][0]['reason']
    assert len(conn.get_container(dst)[1]) == 4
    done, _ = run_json(env, tmp_path, '--delete', '--max-delete', '3',
                       scenario)
    assert done['deleted'] == 3
    assert [o['name'] for o in conn.get_container(dst)[1]] == ['keep']


def test_a_missing_destination_container_is_created(env, tmp_path):
    conn = swift(env['clusters'][0])
    src, dst = 'm-' + uid(), 'm-new-' + uid()
    conn.put_container(src)
    conn.put_object(src, 'x', b'x')
    dry, _ = run_json(env, tmp_path, '--dry-run',
                      'swift://%s->swift://%s' % (src, dst))
    assert dry['copied'] == 1
    with pytest.raises(swiftclient.ClientException):
        conn.head_container(dst)
    done, _ = run_json(env, tmp_path, 'swift://%s->swift://%s' % (src, dst))
    assert done['copied'] == 1
    assert conn.get_object(dst, 'x')[1] == b'x'


def test_include_exclude_and_max_size(env, tmp_path):
    conn = swift(env['clusters'][0])
    src, dst = 'm-' + uid(), 'm-' + uid()
    conn.put_container(src)
    conn.put_container(dst)
    for name, size in (('a.jpg', 10), ('b.jpg', 5000), ('c.txt', 10),
                       ('tmp/d.jpg', 10)):
        conn.put_object(src, name, b'x' * size)
    result, out = run_json(env, tmp_path, '--include', '*.jpg', '--exclude',
                           'tmp/*', '--max-size', '1000',
                           'swift://%s->swift://%s' % (src, dst))
    assert [o['name'] for o in conn.get_container(dst)[1]] == ['a.jpg']
    assert result['too_large'] == 1 and result['excluded'] == 2
    assert 'too large' in out.stdout and 'b.jpg' in out.stdout


@pytest.mark.parametrize('args, message', [
    (['s3://bucket'], 'a scenario is SRC->DST'),
    (['ftp://x->swift://y'], "unknown scheme 'ftp'"),
    (['s3://no-such-bucket-%s->swift://c' % uuid.uuid4().hex[:6]],
     'does not exist'),
])
def test_usage_errors_exit_2(env, args, message):
    out = mirror(env, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr
    assert 'Traceback' not in out.stderr


def test_missing_container_and_wrong_credentials_exit_2(env):
    c = env['clusters'][0]
    out = mirror(env, 'swift://nope-%s->s3://swiftsync/x' % uid())
    assert out.returncode == 2 and 'does not exist' in out.stderr
    bad = mirror_env(env)
    bad['AWS_SECRET_ACCESS_KEY'] = 'wrong-secret'
    swift(c).put_container('creds-src')
    out = mirror(env, 'swift://creds-src->s3://swiftsync/x', environ=bad)
    assert out.returncode == 2, out.stderr
    assert 'access denied' in out.stderr
    assert 'wrong-secret' not in out.stderr + out.stdout
    bad = mirror_env(env)
    bad['ST_KEY'] = 'wrong-key'
    out = mirror(env, 'swift://creds-src->s3://swiftsync/x', environ=bad)
    assert out.returncode == 2, out.stderr
    assert 'wrong-key' not in out.stderr + out.stdout


def test_lock_makes_a_second_run_exit(env, tmp_path):
    from swiftsync.lockfile import run_lock
    lock = str(tmp_path / 'mirror.lock')
    swift(env['clusters'][0]).put_container('lock-src')
    with run_lock(lock):
        out = mirror(env, '--lock', lock, 'swift://lock-src->swift://lock-src2')
    assert out.returncode == 2 and 'held by another run' in out.stderr


def test_remote_stopped_mid_run_then_resumed(env, deployment, tmp_path):
    conn = swift(env['clusters'][0])
    cont, prefix = 'm-' + uid(), 'stop-' + uid()
    conn.put_container(cont)
    names = ['o%03d' % i for i in range(40)]
    for name in names:
        conn.put_object(cont, name, os.urandom(64 * 1024))
    scenario = 'swift://%s->s3://%s/%s' % (cont, env['s3']['bucket'], prefix)
    # 2.5 MiB at 256 KiB/s takes about 10 s; the S3 server goes away as
    # soon as the first objects have arrived
    client = s3_client(env['s3'])

    def stop_when_started():
        deadline = time.time() + 60
        while time.time() < deadline:
            if client.list_objects_v2(Bucket=env['s3']['bucket'],
                                      Prefix=prefix + '/')['KeyCount']:
                break
            time.sleep(0.1)
        deployment.procs.stop(['seaweedfs'])
    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    try:
        result, _ = run_json(env, tmp_path, '--bwlimit', '256Ki',
                             '--workers', '4', '--retries', '1', scenario,
                             code=1)
    finally:
        stopper.join()
        deployment.procs.restart('seaweedfs')
        _wait_s3(env)
    assert result['failed'] > 0 and result['copied'] < len(names)
    again, _ = run_json(env, tmp_path, scenario)
    assert again['copied'] + again['skipped'] == len(names)
    assert again['failed'] == 0
    keys = s3_client(env['s3']).list_objects_v2(
        Bucket=env['s3']['bucket'], Prefix=prefix + '/')['KeyCount']
    assert keys == len(names)


def _wait_s3(env, timeout=30):
    client = s3_client(env['s3'])
    deadline = time.time() + timeout
    while True:
        try:
            client.head_bucket(Bucket=env['s3']['bucket'])
            return
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.3)


def test_mirror_runtime_needs_no_swiftclient():
    # the mirror talks to Swift through swiftsync.stores, not swiftclient
    out = subprocess.run(
        [sys.executable, '-c', 'import sys; import swiftsync.cli.mirror; '
         'print("swiftclient" in sys.modules)'],
        capture_output=True, text=True)
    assert out.stdout.strip() == 'False', out.stderr
