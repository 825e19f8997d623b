"""sync_large: a 512 MiB SLO (64 MiB segments) to S3 through the daemon.

The SLO's container opts in (``X-Container-Cloud-Sync-Target: s3``; its
segments container does not) and ``swiftsync sync --once`` copies it as a
multipart upload, one part per segment; its peak RSS is read by
``/usr/bin/time``. Peer: ``rclone copyto`` of the same object through c1's
proxy (``--s3-upload-concurrency 4 --s3-chunk-size 64M``), as in
``transfer_large``. MB/s (process start included for both), higher is
better; target ratio >= 1.0 and the daemon's peak RSS <= 150 MiB.
``--quick``: 128 MiB.
"""

import os
import tempfile

import common
import peers
import syncbench
from transfer_large import SEGMENT, make_slo


def main():
    args = common.parser(__doc__).parse_args()
    segments = 2 if args.quick else 8
    size = segments * SEGMENT
    with common.deployment(args, clusters=1, s3='seaweedfs',
                           filters='shunt') as dep:
        env = dep.env
        c1 = env['clusters'][0]
        conn = syncbench.connection(c1)
        make_slo(conn, segments)
        with tempfile.TemporaryDirectory() as tmp:
            conf = syncbench.derived_conf(
                c1['nodes'][0]['swiftsync_conf'],
                os.path.join(tmp, 'sync.conf'),
                state_dir=os.path.join(tmp, 'state'))
            conn.post_container('bench', {
                'X-Container-Cloud-Sync-Target': 's3'})
            ours_s, peak_rss, code, _, err = common.run_measured(
                [syncbench.SWIFTSYNC, 'sync', conf, '--once'], timeout=1800)
            if code != 0:
                raise RuntimeError('swiftsync sync failed: %s' % err[-400:])
            from swiftsync import config
            from swiftsync.stores import open_store
            store = open_store(config.load(conf).target('s3'),
                               c1['account'], 'bench')
            assert store.head('big').size == size
            rconf = peers.write_rclone_conf(env, os.path.join(tmp, 'r.conf'))
            peer_s = peers.rclone_copy_large(
                rconf, c1['name'], env['s3']['bucket'])
        common.report('sync_large', size / ours_s / 1e6,
                      size / peer_s / 1e6, 'MB/s', 1.0, bytes=size,
                      seconds=round(ours_s, 2),
                      peer_seconds=round(peer_s, 2),
                      peak_rss_mib=round(peak_rss, 1), rss_target_mib=150)


if __name__ == '__main__':
    main()
