"""sync_swift: 2,000 objects to a second Swift cluster, ours vs Swift's
``swift-container-sync``.

One container of cluster c1 is filled once. Ours: it opts in
(``X-Container-Cloud-Sync-Target: c2``) and ``swiftsync sync --once`` runs
with ``concurrency = 32``; the copy lands in c2's container of the same
name. Peer: the same container gets ``X-Container-Sync-To:
//dev/c2/AUTH_test/bench-cs`` (realm form) and Swift's container-sync runs
``--once`` passes (``container_time`` raised to 3600 s so one pass can
finish; its row concurrency at its default) until c2 holds everything.
Both wall times include process start. Objects/s, higher is better; target
ratio >= 1.5.
"""

import os
import subprocess
import sys
import tempfile
import time

import common
import syncbench

CONCURRENCY = 32


def container_sync_until(node_conf, cluster, container, count, tmp,
                         deadline_s=1800):
    """Run Swift's container-sync --once until ``count`` objects arrived;
    (seconds, passes)."""
    with open(node_conf) as f:
        text = f.read()
    conf = os.path.join(tmp, 'container-server.conf')
    with open(conf, 'w') as f:
        f.write(text.replace('[container-sync]\n',
                             '[container-sync]\ncontainer_time = 3600\n'))
    start = time.perf_counter()
    passes = 0
    while syncbench.swift_count(cluster, container) < count:
        if time.perf_counter() - start > deadline_s:
            raise RuntimeError('container-sync did not finish')
        subprocess.run([sys.executable, '-m', 'swiftsync.devcluster.swiftd',
                        'container-sync', conf, '--once'],
                       capture_output=True, timeout=deadline_s, check=True)
        passes += 1
    return time.perf_counter() - start, passes


def main():
    args = common.parser(__doc__).parse_args()
    count = 300 if args.quick else 2000
    # only the cloud-sync filter: autosync would mirror containers itself
    with common.deployment(args, clusters=2, s3='none',
                           filters='shunt') as dep:
        env = dep.env
        c1, c2 = env['clusters'][:2]
        fill_s = syncbench.fill(c1, 'bench', count)
        print('filled %d objects in %.1f s' % (count, fill_s))
        with tempfile.TemporaryDirectory() as tmp:
            conf = syncbench.derived_conf(
                c1['nodes'][0]['swiftsync_conf'],
                os.path.join(tmp, 'sync.conf'), concurrency=CONCURRENCY,
                state_dir=os.path.join(tmp, 'state'))
            conn = syncbench.connection(c1)
            conn.post_container('bench', {
                'X-Container-Cloud-Sync-Target': c2['name']})
            ours_s = syncbench.sync_once(conf)
            arrived = syncbench.swift_count(c2, 'bench')
            assert arrived == count, (arrived, count)
            conn.post_container('bench', {
                'X-Container-Cloud-Sync-Target': ''})

            key = 'bench-sync-key-0123456789'
            syncbench.connection(c2).put_container('bench-cs', headers={
                'X-Container-Sync-Key': key})
            conn.post_container('bench', {
                'X-Container-Sync-To': '//%s/%s/%s/bench-cs' % (
                    env['realm']['name'], c2['name'], c2['account']),
                'X-Container-Sync-Key': key})
            peer_s, passes = container_sync_until(
                c1['nodes'][0]['container_server_conf'], c2, 'bench-cs',
                count, tmp)
        common.report('sync_swift', count / ours_s, count / peer_s,
                      'objects/s', 1.5, objects=count,
                      seconds=round(ours_s, 2),
                      peer_seconds=round(peer_s, 2), peer_passes=passes,
                      concurrency=CONCURRENCY)


if __name__ == '__main__':
    main()
