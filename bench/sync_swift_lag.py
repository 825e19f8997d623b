"""sync_swift_lag: a 2,000-object burst, both daemons at their defaults.

How long after the last PUT of a burst does the other cluster hold every
object? Ours: ``swiftsync sync`` running with the product's default
``interval`` (30 s; changes are noticed between passes by watching the
container DBs). Peer: Swift's ``swift-container-sync`` daemon with its
defaults (a pass every 300 s, at most 60 s of work per container per
pass, first pass at a random time within the interval). Seconds, lower is
better. No target in the issue: this is the figure operators feel.
"""

import os
import re
import sys
import tempfile
import time

import common
import syncbench
from swiftsync.devcluster.derive import derive_conf

WAIT_LIMIT_S = 900


def wait_for(cluster, container, count, limit=WAIT_LIMIT_S):
    deadline = time.time() + limit
    while syncbench.swift_count(cluster, container) < count:
        if time.time() > deadline:
            return None
        time.sleep(0.5)
    return time.time()


def default_container_sync_conf(src, path):
    """The node's container-server conf with Swift's container-sync
    defaults (the dev conf runs it every 5 s)."""
    with open(src) as f:
        text = f.read()
    text = re.sub(r'(?m)^interval = \d+\n', '', text)
    with open(path, 'w') as f:
        f.write(text)
    return path


def main():
    args = common.parser(__doc__).parse_args()
    count = 300 if args.quick else 2000
    with common.deployment(args, clusters=2, s3='none',
                           filters='shunt,sync_keys') as dep:
        env = dep.env
        c1, c2 = env['clusters']
        node = c1['nodes'][0]
        tmp = tempfile.mkdtemp(prefix='swiftsync-lag-')

        # ours, at the product default interval
        conf = derive_conf(node['swiftsync_conf'],
                           os.path.join(tmp, 'sync.conf'), interval='30',
                           state_dir=os.path.join(tmp, 'state'))
        syncbench.connection(c1).put_container('lag-ours', headers={
            'X-Container-Cloud-Sync-Target': 'c2'})
        dep.procs.start('ours-sync', [syncbench.SWIFTSYNC, 'sync', conf])
        time.sleep(3)   # started and idle: the burst comes later
        syncbench.fill(c1, 'lag-ours', count)
        burst_end = time.time()
        done = wait_for(c2, 'lag-ours', count)
        dep.procs.stop(['ours-sync'])
        ours = (done - burst_end) if done else None

        # Swift's container-sync, at its defaults
        key = 'k' * 32
        syncbench.connection(c2).put_container(
            'lag-cs', headers={'X-Container-Sync-Key': key})
        syncbench.connection(c1).put_container('lag-cs', headers={
            'X-Container-Sync-Key': key,
            'X-Container-Sync-To': '//%s/c2/%s/lag-cs' % (
                env['realm']['name'], c2['account'])})
        cs_conf = default_container_sync_conf(
            node['container_server_conf'],
            os.path.join(tmp, 'container-server.conf'))
        dep.procs.start('cs-default', [
            sys.executable, '-m', 'swiftsync.devcluster.swiftd',
            'container-sync', cs_conf])
        time.sleep(3)
        syncbench.fill(c1, 'lag-cs', count)
        burst_end = time.time()
        done = wait_for(c2, 'lag-cs', count)
        dep.procs.stop(['cs-default'])
        peer = (done - burst_end) if done else None
        print('lag after a %d-object burst: ours %s s, container-sync %s s '
              '(limit %d s)' % (count, ours and round(ours, 1),
                                peer and round(peer, 1), WAIT_LIMIT_S))
        common.report('sync_swift_lag', ours or WAIT_LIMIT_S,
                      peer or WAIT_LIMIT_S, 's', 'none (defaults)',
                      higher_is_better=False, objects=count,
                      ours_done=ours is not None, peer_done=peer is not None)


if __name__ == '__main__':
    main()
