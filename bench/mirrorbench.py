"""Shared by the mirror_* benchmarks: environments, seeding, both tools."""

import os
import sys

import common
import peers


def mirror_environ(env, cluster):
    s3 = env['s3']
    environ = dict(os.environ)
    environ.update(AWS_ACCESS_KEY_ID=s3['access_key'],
                   AWS_SECRET_ACCESS_KEY=s3['secret_key'],
                   AWS_ENDPOINT_URL=s3['endpoint'], AWS_REGION=s3['region'],
                   ST_AUTH=cluster['auth_url'], ST_USER=cluster['user'],
                   ST_KEY=cluster['key'])
    return environ


def ours(env, scenario, workers, *extra):
    """(seconds, peak RSS MiB, stdout) of one ``swiftsync mirror`` run."""
    cmd = [sys.executable, '-m', 'swiftsync.cli.main', 'mirror',
           '--workers', str(workers), '--no-progress'] + list(extra) + [
               scenario]
    seconds, rss, code, out, err = common.run_measured(
        cmd, env=mirror_environ(env, env['clusters'][0]))
    if code != 0:
        raise RuntimeError('swiftsync mirror failed (%d): %s' % (code, err))
    return seconds, rss, out


def theirs(conf, src, dst, workers, *extra):
    """(seconds, peak RSS MiB) of one ``rclone sync`` at its best."""
    cmd = [peers.rclone_bin(), '--config', conf, '--transfers', str(workers),
           '--checkers', str(workers)] + peers.RCLONE_BEST + list(extra) + [
               'sync', src, dst]
    seconds, rss, code, out, err = common.run_measured(cmd)
    if code != 0:
        raise RuntimeError('rclone failed (%d): %s' % (code, err[-400:]))
    return seconds, rss


def fill_s3(client, bucket, prefix, count, size, threads=16):
    body = b'x' * size

    def put(i):
        client.put_object(Bucket=bucket, Key='%s/obj-%06d' % (prefix, i),
                          Body=body)
    common.parallel(put, range(count), threads)
