"""transfer_large: the transfer engine alone copying one SLO to S3.

An SLO of 64 MiB segments (512 MiB; 128 MiB with --quick) in cluster c1 is
copied to SeaweedFS by ``swiftsync.transfer`` (LocalSwift -> S3Store, one
multipart part per segment, 4 parts at once in green threads, under
eventlet like the sync daemon), in a child process whose peak
RSS is read from /proc. The peer is ``rclone copy`` of the same object
through c1's proxy, with 4 transfers and 4 x 64 MiB upload concurrency.
MB/s, higher is better. (The ``sync_large`` benchmark measures the same
path through the whole daemon.)
"""

import json
import os
import subprocess
import sys
import tempfile

import common
import peers

MiB = 1024 * 1024
SEGMENT = 64 * MiB

CHILD = r'''
import eventlet
eventlet.monkey_patch()   # as in the sync daemon
import json, sys, time
from swift.common.utils import set_swift_dir
from swiftsync import config
from swiftsync.stores import open_store
from swiftsync.stores.local import LocalSwift, make_internal_client
from swiftsync.transfer import Transfer
c1 = json.loads(sys.argv[1])
set_swift_dir(c1['swift_dir'])
cfg = config.load(c1['swiftsync_conf'])
src = LocalSwift(make_internal_client(c1['internal_client_conf']),
                 'AUTH_test', 'bench')
dst = open_store(cfg.target('s3'), 'AUTH_test', 'bench')
start = time.perf_counter()
outcome = Transfer(src, dst, segment_size=%d).sync('big')
seconds = time.perf_counter() - start
rss = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]
print(json.dumps({'outcome': outcome.name, 'seconds': seconds,
                  'peak_rss_mib': int(rss[0].split()[1]) / 1024.0}))
''' % SEGMENT


class Body:
    """A segment's worth of bytes, generated, read() in 1 MiB pieces."""

    def __init__(self, size, seed):
        self.left = size
        self.block = bytes([seed % 256]) * MiB

    def read(self, n=-1):
        n = min(n if n and n > 0 else MiB, MiB, self.left)
        self.left -= n
        return self.block[:n]


def make_slo(conn, segments):
    conn.put_container('bench')
    conn.put_container('bench_segments')
    manifest = []
    for i in range(segments):
        name = 'big/%03d' % i
        conn.put_object('bench_segments', name, Body(SEGMENT, i),
                        content_length=SEGMENT)
        manifest.append({'path': '/bench_segments/' + name})
    conn.put_object('bench', 'big', json.dumps(manifest),
                    query_string='multipart-manifest=put')


def main():
    args = common.parser(__doc__).parse_args()
    segments = 2 if args.quick else 8
    size = segments * SEGMENT
    with common.deployment(args, clusters=1, s3='seaweedfs') as dep:
        env = dep.env
        c1 = env['clusters'][0]
        import swiftclient
        conn = swiftclient.Connection(c1['auth_url'], c1['user'], c1['key'])
        make_slo(conn, segments)
        out = subprocess.run([sys.executable, '-c', CHILD, json.dumps(c1)],
                             capture_output=True, text=True, timeout=1800)
        if out.returncode:
            raise SystemExit(out.stderr[-2000:])
        ours = json.loads(out.stdout.strip().splitlines()[-1])
        assert ours['outcome'] == 'COPIED', ours
        with tempfile.TemporaryDirectory() as tmp:
            conf = peers.write_rclone_conf(env, os.path.join(tmp, 'r.conf'))
            seconds = peers.rclone_copy_large(
                conf, c1['name'], env['s3']['bucket'])
        common.report('transfer_large', size / ours['seconds'] / 1e6,
                      size / seconds / 1e6, 'MB/s', 1.0,
                      bytes=size, seconds=round(ours['seconds'], 2),
                      peer_seconds=round(seconds, 2),
                      peak_rss_mib=round(ours['peak_rss_mib'], 1))


if __name__ == '__main__':
    main()
