"""sync_initial: a fresh container of 2,000 x 4 KiB objects to S3.

Ours: the container opts in (``X-Container-Cloud-Sync-Target: s3``) and
``swiftsync sync --once`` runs on its container node with ``concurrency =
32``. Peer: ``rclone sync`` of the same container through the proxy to
another prefix of the same SeaweedFS bucket, at its best (``--checksum
--fast-list --swift-no-large-objects --s3-no-head``, 32 transfers and
checkers). Both wall times include process start. Objects/s, higher is
better; target ratio >= 1.2.
"""

import hashlib
import os
import tempfile

import common
import peers
import syncbench
from swiftsync.devcluster.s3client import s3_client

CONCURRENCY = 32


def main():
    args = common.parser(__doc__).parse_args()
    count = 300 if args.quick else 2000
    with common.deployment(args, clusters=1, s3='seaweedfs') as dep:
        env = dep.env
        c1 = env['clusters'][0]
        fill_s = syncbench.fill(c1, 'bench', count)
        print('filled %d objects in %.1f s' % (count, fill_s))
        client, bucket = s3_client(env['s3']), env['s3']['bucket']
        with tempfile.TemporaryDirectory() as tmp:
            # ours
            conf = syncbench.derived_conf(
                c1['nodes'][0]['swiftsync_conf'],
                os.path.join(tmp, 'sync.conf'),
                concurrency=CONCURRENCY,
                state_dir=os.path.join(tmp, 'state'))
            syncbench.connection(c1).post_container('bench', {
                'X-Container-Cloud-Sync-Target': 's3'})
            ours_s = syncbench.sync_once(conf)
            digest = hashlib.md5(b'AUTH_test/bench').hexdigest()
            prefix = '%x/AUTH_test/bench/' % (int(digest, 16) % 16 ** 6)
            arrived = syncbench.s3_count(client, bucket, prefix)
            assert arrived == count, (arrived, count)
            # rclone
            rconf = peers.write_rclone_conf(env, os.path.join(tmp, 'r.conf'))
            peer_s, _ = peers.rclone(
                rconf, 'sync', '%s:bench' % c1['name'],
                's3:%s/rclone-bench' % bucket, transfers=CONCURRENCY,
                checkers=CONCURRENCY)
            arrived = syncbench.s3_count(client, bucket, 'rclone-bench/')
            assert arrived == count, (arrived, count)
        common.report('sync_initial', count / ours_s, count / peer_s,
                      'objects/s', 1.2, objects=count,
                      seconds=round(ours_s, 2),
                      peer_seconds=round(peer_s, 2),
                      concurrency=CONCURRENCY)


if __name__ == '__main__':
    main()
