"""sync_incremental: 20,000 objects already synced, 10 change.

Ours: the daemon runs (``interval = 30``, its default, and ``concurrency =
32``) on the container node; between passes it watches the DBs of its
mapped containers (a stat every 0.1 s). The figure is the time from the last of 10 overwrites
until all 10 new versions are on S3 (polled with HEADs every 50 ms). Peer:
``rclone sync`` at its best (``--checksum --fast-list
--swift-no-large-objects --s3-no-head``, 32 transfers/checkers), already
run once, run again after the same 10 changes: its wall time. Seconds,
lower is better; target ratio (rclone / ours) >= 5 at 20,000 objects.
``--objects`` sets the container size (e.g. 100000 for the flat-cost
figure); ``--quick`` uses 2,000.
"""

import hashlib
import os
import signal
import subprocess
import tempfile
import time

import common
import peers
import syncbench
from swiftsync.devcluster.s3client import s3_client

CONCURRENCY = 32
CHANGES = 10


def wait_for(client, bucket, keys, etag, deadline_s=300):
    start = time.time()
    pending = set(keys)
    while pending:
        if time.time() - start > deadline_s:
            raise RuntimeError('%d changes never arrived' % len(pending))
        for key in list(pending):
            try:
                head = client.head_object(Bucket=bucket, Key=key)
            except Exception:
                continue
            if head['ETag'].strip('"') == etag:
                pending.discard(key)
        if pending:
            time.sleep(0.05)
    return time.time()


def main():
    p = common.parser(__doc__)
    p.add_argument('--objects', type=int, default=None)
    args = p.parse_args()
    count = args.objects or (2000 if args.quick else 20000)
    with common.deployment(args, clusters=1, s3='seaweedfs',
                           filters='shunt') as dep:
        env = dep.env
        c1 = env['clusters'][0]
        client, bucket = s3_client(env['s3']), env['s3']['bucket']
        fill_s = syncbench.fill(c1, 'bench', count, size=1024)
        print('filled %d objects in %.1f s' % (count, fill_s))
        with tempfile.TemporaryDirectory() as tmp:
            conf = syncbench.derived_conf(
                c1['nodes'][0]['swiftsync_conf'],
                os.path.join(tmp, 'sync.conf'), concurrency=CONCURRENCY,
                interval=30, state_dir=os.path.join(tmp, 'state'))
            conn = syncbench.connection(c1)
            conn.post_container('bench', {
                'X-Container-Cloud-Sync-Target': 's3'})
            initial_s = syncbench.sync_once(conf)
            print('initial sync (ours) %.1f s' % initial_s)
            rconf = peers.write_rclone_conf(env, os.path.join(tmp, 'r.conf'))
            src, dst = ('%s:bench' % c1['name'],
                        's3:%s/rclone-bench' % bucket)
            initial_peer, _ = peers.rclone(rconf, 'sync', src, dst,
                                           transfers=CONCURRENCY,
                                           checkers=CONCURRENCY)
            print('initial sync (rclone) %.1f s' % initial_peer)

            log = open(os.path.join(args.workdir or tmp, 'daemon.log'), 'w')
            daemon = subprocess.Popen([syncbench.SWIFTSYNC, 'sync', conf,
                                       '-v'], stdout=log, stderr=log)
            try:
                # started, and its first (idle) passes done
                time.sleep(8)
                body = b'changed %f' % time.time()
                etag = hashlib.md5(body).hexdigest()
                names = ['obj-%06d' % (i * (count // CHANGES))
                         for i in range(CHANGES)]
                for name in names:
                    conn.put_object('bench', name, body)
                last_change = time.time()
                digest = hashlib.md5(b'AUTH_test/bench').hexdigest()
                prefix = '%x/AUTH_test/bench/' % (int(digest, 16) % 16 ** 6)
                done = wait_for(client, bucket, [prefix + n for n in names],
                                etag)
                ours = done - last_change
            finally:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=30)
            peer, _ = peers.rclone(rconf, 'sync', src, dst,
                                   transfers=CONCURRENCY,
                                   checkers=CONCURRENCY)
            wait_for(client, bucket, ['rclone-bench/' + n for n in names],
                     etag, deadline_s=5)
        common.report('sync_incremental', ours, peer, 's', 5.0,
                      higher_is_better=False, objects=count,
                      changes=CHANGES, interval=30,
                      initial_seconds=round(initial_s, 1),
                      peer_initial_seconds=round(initial_peer, 1))


if __name__ == '__main__':
    main()
