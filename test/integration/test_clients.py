"""Real clients against swiftsync: the ``swift`` command line of
python-swiftclient and rclone's swift backend, run as a user runs them
(subprocesses, tempauth v1 credentials), across an autosync pair with
Swift's container-sync daemon running, and against a container archived to
S3 that the shunt serves. The assertions are what the user sees: exit
status, listings on stdout, downloaded bytes."""

import os
import subprocess
import sys
import time
import uuid

import requests
import swiftclient

from swiftsync import config, stores

from test.integration.clients import swift
from test.integration.deployments import own_deployment
from test.integration.test_devcluster import wait_for
from test.integration.test_shunt import put_remote

BIN = os.path.dirname(sys.executable)
SWIFT_CLI = os.path.join(BIN, 'swift')
RCLONE = os.path.join(BIN, 'rclone')
SWIFTSYNC = os.path.join(BIN, 'swiftsync')
MiB = 1024 * 1024
OPTIN = 'X-Container-Cloud-Sync-'


dep, env = own_deployment('clients', 1800, clusters=2, replicas=1,
                          s3='seaweedfs')


# -- helpers -----------------------------------------------------------------

def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def clean_environ(**extra):
    """The environment of a user's shell with no stray client settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('ST_', 'OS_', 'RCLONE_'))}
    env.update(extra)
    return env


def run(cmd, cwd, env=None, timeout=120):
    return subprocess.run(cmd, cwd=str(cwd), env=env or clean_environ(),
                          capture_output=True, timeout=timeout)


def swift_cli(cluster, cwd, *args):
    """``swift -A auth_url -U user -K key ARGS`` (tempauth v1)."""
    return run([SWIFT_CLI, '-A', cluster['auth_url'], '-U', cluster['user'],
                '-K', cluster['key']] + list(args), cwd)


def ok(proc):
    assert proc.returncode == 0, (proc.args, proc.returncode,
                                  proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.stdout.decode('utf-8', 'replace')


def lines(text):
    return [line for line in text.splitlines() if line]


def cli_list(cluster, cwd, container, *args):
    """Names ``swift list`` prints, or None when it fails."""
    proc = swift_cli(cluster, cwd, 'list', container, *args)
    if proc.returncode:
        return None
    return lines(proc.stdout.decode('utf-8'))


def container_status(cluster, container):
    try:
        swift(cluster).head_container(container)
    except swiftclient.ClientException as e:
        return e.http_status
    return 200


def rclone_env(tmp_path, clusters):
    conf = tmp_path / 'rclone.conf'
    conf.write_text('')  # no user config is read
    extra = {'RCLONE_CONFIG': str(conf)}
    for c in clusters:
        prefix = 'RCLONE_CONFIG_%s_' % c['name'].upper()
        extra.update({prefix + 'TYPE': 'swift',
                      prefix + 'AUTH': c['auth_url'],
                      prefix + 'USER': c['user'],
                      prefix + 'KEY': c['key']})
    return clean_environ(**extra)


def rclone(renv, cwd, *args):
    return run([RCLONE] + list(args), cwd, env=renv)


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


# -- swift CLI across the autosync pair ---------------------------------------

def test_swift_cli_upload_post_list_download_on_both_clusters(
        c1, c2, tmp_path):
    cont = unique('cli')
    big = write(tmp_path / 'big.bin', os.urandom(3 * MiB + 12345))
    small = write(tmp_path / 'small.txt', b'small object\n')

    out = ok(swift_cli(c1, tmp_path, 'upload', '--use-slo', '-S',
                       str(MiB), cont, 'big.bin'))
    assert 'big.bin' in lines(out)
    assert sorted(l for l in lines(out) if 'segment' in l) == [
        'big.bin segment %d' % i for i in range(4)]
    assert lines(ok(swift_cli(c1, tmp_path, 'upload', cont,
                              'small.txt'))) == ['small.txt']
    assert cli_list(c1, tmp_path, cont) == ['big.bin', 'small.txt']
    assert len(cli_list(c1, tmp_path, cont + '_segments')) == 4
    # the container and its segments container exist on the peer at once
    for cluster in (c1, c2):
        names = cli_list(cluster, tmp_path, '')
        assert cont in names and cont + '_segments' in names

    ok(swift_cli(c1, tmp_path, 'post', '-m', 'color:blue',
                 '-r', '.r:*,.rlistings', cont))
    ok(swift_cli(c1, tmp_path, 'post', '-m', 'shape:round', cont,
                 'small.txt'))
    stat = ok(swift_cli(c2, tmp_path, 'stat', cont))
    assert 'Meta Color: blue' in stat
    assert 'Read ACL: .r:*,.rlistings' in stat

    # container-sync carries the objects (and the SLO's segments) to c2
    started = time.time()
    assert wait_for(lambda: cli_list(c2, tmp_path, cont) == [
        'big.bin', 'small.txt'], 60), cli_list(c2, tmp_path, cont)
    print('TIMING objects listed on c2 %.1fs after the upload'
          % (time.time() - started))
    assert wait_for(lambda: len(cli_list(c2, tmp_path,
                                         cont + '_segments')) == 4, 60)

    for cluster in (c1, c2):
        name = 'big-%s.bin' % cluster['name']
        ok(swift_cli(cluster, tmp_path, 'download', cont, 'big.bin',
                     '-o', name))
        assert (tmp_path / name).read_bytes() == big, cluster['name']
        got = ok(swift_cli(cluster, tmp_path, 'download', cont,
                           'small.txt', '-o', '-'))
        assert got.encode() == small
        stat = ok(swift_cli(cluster, tmp_path, 'stat', cont, 'big.bin'))
        assert 'Content Length: %d' % len(big) in stat
        assert 'X-Static-Large-Object: True' in stat
    # the object POST follows with container-sync
    assert wait_for(lambda: 'Meta Shape: round' in ok(swift_cli(
        c2, tmp_path, 'stat', cont, 'small.txt')), 60)
    # the public read ACL holds on the peer: an anonymous GET and listing
    url = '%s/v1/%s/%s' % (c2['proxy_url'], c2['account'], cont)
    r = requests.get(url + '/small.txt', timeout=30)
    assert (r.status_code, r.content) == (200, small)
    r = requests.get(url, timeout=30)
    assert (r.status_code, lines(r.text)) == (200, ['big.bin', 'small.txt'])

    # downloading the whole container from the peer
    ok(swift_cli(c2, tmp_path, 'download', cont, '-D', 'all'))
    assert (tmp_path / 'all' / 'big.bin').read_bytes() == big
    assert (tmp_path / 'all' / 'small.txt').read_bytes() == small


def upload_and_wait_for_peer(c1, c2, tmp_path, cont):
    """SLO and plain uploads on c1, and the wait until c2 holds copies."""
    write(tmp_path / 'big.bin', os.urandom(2 * MiB + 1))
    write(tmp_path / 'small.txt', b'delete me\n')
    ok(swift_cli(c1, tmp_path, 'upload', '--use-slo', '-S', str(MiB),
                 cont, 'big.bin'))
    ok(swift_cli(c1, tmp_path, 'upload', cont, 'small.txt'))
    assert wait_for(lambda: cli_list(c2, tmp_path, cont) == [
        'big.bin', 'small.txt'], 60), cli_list(c2, tmp_path, cont)


def test_swift_delete_of_a_synced_container_is_gone_everywhere(
        c1, c2, tmp_path):
    cont = unique('del')
    upload_and_wait_for_peer(c1, c2, tmp_path, cont)

    started = time.time()
    proc = swift_cli(c1, tmp_path, 'delete', cont)
    out = ok(proc)
    assert sorted(lines(out)) == sorted(['big.bin', 'small.txt', cont])
    # gone on both clusters when the command returns
    assert (container_status(c1, cont), container_status(c2, cont)) == (
        404, 404)
    print('TIMING swift delete %s: gone on c1 and c2 after %.1fs'
          % (cont, time.time() - started))
    for cluster in (c1, c2):
        proc = swift_cli(cluster, tmp_path, 'list', cont)
        assert proc.returncode == 1
        assert b"Container '%s' not found" % cont.encode() in proc.stderr
        assert cont not in cli_list(cluster, tmp_path, '')
    # the SLO's segments went with their manifest; the segments container
    # the swift CLI leaves behind goes the same way
    assert cli_list(c1, tmp_path, cont + '_segments') == []
    ok(swift_cli(c1, tmp_path, 'delete', cont + '_segments'))
    assert (container_status(c1, cont + '_segments'),
            container_status(c2, cont + '_segments')) == (404, 404)


def test_swift_delete_refused_while_the_peer_holds_a_newer_object(
        dep, c1, c2, tmp_path):
    cont = unique('keep')
    upload_and_wait_for_peer(c1, c2, tmp_path, cont)
    out = ok(swift_cli(c1, tmp_path, 'delete', cont, 'big.bin', 'small.txt'))
    assert sorted(lines(out)) == ['big.bin', 'small.txt']
    assert cli_list(c1, tmp_path, cont) == []

    # a write on c2 that c1 has not seen yet (c2's container-sync paused,
    # so that the object stays on c2 only)
    dep.procs.stop(['c2-container-sync1'])
    assert not dep.procs.is_running('c2-container-sync1')
    try:
        write(tmp_path / 'newer.txt', b'written on c2 after the deletes\n')
        ok(swift_cli(c2, tmp_path, 'upload', cont, 'newer.txt'))
        proc = swift_cli(c1, tmp_path, 'delete', cont)
        assert proc.returncode != 0, (proc.stdout, proc.stderr)
        assert b'409' in proc.stderr, proc.stderr
        # nothing of the newer object is lost, and the container stays
        assert ok(swift_cli(c2, tmp_path, 'download', cont, 'newer.txt',
                            '-o', '-')) == 'written on c2 after the deletes\n'
        assert 'newer.txt' in cli_list(c2, tmp_path, cont)
        assert container_status(c1, cont) == 200
    finally:
        dep.start_swift_daemon('container-sync', clusters=['c2'])
    # once syncing again, both clusters agree on what is left
    assert wait_for(lambda: cli_list(c1, tmp_path, cont) == ['newer.txt']
                    and cli_list(c2, tmp_path, cont) == ['newer.txt'], 60), (
        cli_list(c1, tmp_path, cont), cli_list(c2, tmp_path, cont))


# -- rclone's swift backend across the autosync pair -----------------------

def rclone_tree(tmp_path):
    src = tmp_path / 'src'
    files = {
        'a.txt': write(src / 'a.txt', b'alpha\n'),
        'sub/b.txt': write(src / 'sub' / 'b.txt', b'beta\n' * 100),
        # over --swift-chunk-size: rclone uploads it as a large object
        'big.bin': write(src / 'big.bin', os.urandom(2 * MiB + 4321)),
    }
    return src, files


def rclone_copy_and_wait_for_peer(c1, c2, tmp_path, cont):
    renv = rclone_env(tmp_path, [c1, c2])
    src, files = rclone_tree(tmp_path)
    ok(rclone(renv, tmp_path, 'copy', str(src), 'c1:' + cont,
              '--swift-chunk-size', '1M'))
    ok(rclone(renv, tmp_path, 'check', str(src), 'c1:' + cont))
    assert sorted(lines(ok(rclone(renv, tmp_path, 'lsf', '-R',
                                  'c1:' + cont)))) == [
        'a.txt', 'big.bin', 'sub/', 'sub/b.txt']
    head = swift(c1).head_object(cont, 'big.bin')
    assert 'x-object-manifest' in head  # chunked: a DLO
    assert int(head['content-length']) == len(files['big.bin'])
    started = time.time()
    assert wait_for(lambda: rclone(renv, tmp_path, 'check', 'c1:' + cont,
                                   'c2:' + cont).returncode == 0, 60)
    print('TIMING rclone check c1 c2 passes %.1fs after the copy'
          % (time.time() - started))
    return renv, src, files


def test_rclone_copy_check_purge_across_the_pair(c1, c2, tmp_path):
    cont = unique('rc')
    renv, src, files = rclone_copy_and_wait_for_peer(c1, c2, tmp_path, cont)
    ok(rclone(renv, tmp_path, 'check', str(src), 'c2:' + cont))
    for name, data in files.items():
        proc = rclone(renv, tmp_path, 'cat', 'c2:%s/%s' % (cont, name))
        assert ok(proc) is not None and proc.stdout == data, name

    started = time.time()
    ok(rclone(renv, tmp_path, 'purge', 'c1:' + cont))
    print('TIMING rclone purge %s took %.1fs' % (cont, time.time() - started))
    assert (container_status(c1, cont), container_status(c2, cont)) == (
        404, 404)
    for remote in ('c1:', 'c2:'):
        assert cont not in lines(ok(rclone(renv, tmp_path, 'lsf', remote)))


def test_rclone_purge_succeeds_at_the_first_attempt(c1, c2, tmp_path):
    """rclone retries a 409 on container DELETE (up to 10 low-level retries
    times 3 attempts), which can hide a refusal that container-sync's next
    pass happens to clear; a user's purge must not depend on that."""
    cont = unique('rc1')
    renv, _, _ = rclone_copy_and_wait_for_peer(c1, c2, tmp_path, cont)
    proc = rclone(renv, tmp_path, 'purge', '--retries', '1',
                  '--low-level-retries', '1', 'c1:' + cont)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert (container_status(c1, cont), container_status(c2, cont)) == (
        404, 404)


# -- an archived container through the shunt ---------------------------------

def test_clients_read_an_archived_container_through_the_shunt(
        env, c1, tmp_path):
    cont = unique('arch')
    # the owner opts in with the swift CLI; the operator's daemon archives
    ok(swift_cli(c1, tmp_path, 'post', '-H', OPTIN + 'Target: s3',
                 '-H', OPTIN + 'Mode: archive', '-H', OPTIN + 'After: 0',
                 cont))
    stat = ok(swift_cli(c1, tmp_path, 'stat', cont))
    assert 'X-Container-Cloud-Sync-Mode: archive' in stat
    src = tmp_path / 'src'
    big = write(src / 'big.bin', os.urandom(3 * MiB + 777))
    small = write(src / 'small.txt', b'archived small object\n')
    ok(swift_cli(c1, src, 'upload', '--use-slo', '-S', str(MiB), cont,
                 'big.bin'))
    ok(swift_cli(c1, src, 'upload', cont, 'small.txt'))
    proc = run([SWIFTSYNC, 'sync', c1['nodes'][0]['swiftsync_conf'],
                '--once'], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # archived: nothing left locally (what the shunt's bypass shows) ...
    assert swift(c1).get_container(cont, headers={
        'X-Cloud-Sync-Bypass': 'true'})[1] == []
    # ... and one more object that only the remote store ever held
    cfg = config.load(c1['swiftsync_conf'])
    store = stores.open_store(cfg.target('s3'), c1['account'], cont)
    remote_only = b'only ever on S3 \xe2\x9c\x93\n'
    put_remote(store, 'dir/\u00e9t\u00e9.txt', remote_only, 'text/plain')

    # swift CLI
    names = ['big.bin', 'dir/\u00e9t\u00e9.txt', 'small.txt']
    assert cli_list(c1, tmp_path, cont) == names
    assert cli_list(c1, tmp_path, cont, '--prefix', 'dir/') == [names[1]]
    assert cli_list(c1, tmp_path, cont, '--delimiter', '/') == [
        'big.bin', 'dir/', 'small.txt']
    ok(swift_cli(c1, tmp_path, 'download', cont, 'big.bin', '-o', 'b.bin'))
    assert (tmp_path / 'b.bin').read_bytes() == big
    assert ok(swift_cli(c1, tmp_path, 'download', cont, 'small.txt',
                        '-o', '-')).encode() == small
    ok(swift_cli(c1, tmp_path, 'download', cont, '-D', 'all'))
    assert (tmp_path / 'all' / 'big.bin').read_bytes() == big
    assert (tmp_path / 'all' / 'small.txt').read_bytes() == small
    assert (tmp_path / 'all' / 'dir' / '\u00e9t\u00e9.txt'
            ).read_bytes() == remote_only
    stat = ok(swift_cli(c1, tmp_path, 'stat', cont, 'big.bin'))
    assert 'Content Length: %d' % len(big) in stat
    assert 'X-Static-Large-Object: True' in stat
    assert 'X-Cloud-Sync-Location: s3' in stat

    # rclone
    renv = rclone_env(tmp_path, [c1])
    assert sorted(lines(ok(rclone(renv, tmp_path, 'lsf', '-R',
                                  'c1:' + cont)))) == [
        'big.bin', 'dir/', 'dir/\u00e9t\u00e9.txt', 'small.txt']
    for name, data in (('big.bin', big), ('small.txt', small),
                       ('dir/\u00e9t\u00e9.txt', remote_only)):
        proc = rclone(renv, tmp_path, 'cat', 'c1:%s/%s' % (cont, name))
        assert ok(proc) is not None and proc.stdout == data, name
    ok(rclone(renv, tmp_path, 'check', str(src), 'c1:' + cont,
              '--exclude', 'dir/**'))
    ok(rclone(renv, tmp_path, 'copy', 'c1:' + cont, str(tmp_path / 'rc')))
    assert (tmp_path / 'rc' / 'big.bin').read_bytes() == big
    assert (tmp_path / 'rc' / 'dir' / '\u00e9t\u00e9.txt'
            ).read_bytes() == remote_only
