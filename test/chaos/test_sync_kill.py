"""Scenario 1 of issue 8: the ``swiftsync sync`` daemon killed with SIGKILL
at random moments during the sync of a container (SLOs among its
objects), and started again each time, as a supervisor would.

At the end every object is on the remote (SeaweedFS) with its content, no
multipart upload is left open, and the objects written more than once
(what a kill costs) are counted from SeaweedFS's own change log.
"""

import os
import random
import time

from test.chaos.conftest import scaled
from test.chaos.syncdaemon import Daemon, Source, deployment

OBJECTS = scaled(300, 5000)
KILLS = scaled(2, 5)


dep = deployment('sync_kill')


def test_sigkill_during_sync_loses_nothing(dep, figures):
    seed = int(os.environ.get('SWIFTSYNC_CHAOS_SEED', time.time()))
    rng = random.Random(seed)
    print('seed', seed)
    src = Source(dep.env, 'killed')
    filled = time.time()
    slos = src.fill(list(range(OBJECTS)))
    print('filled in %.1fs' % (time.time() - filled))

    # kill when a random share of the objects has arrived, one share per
    # stretch of the sync, and a random fraction of a second later
    marks = [rng.uniform(k + 0.2, k + 1) / (KILLS + 1) * OBJECTS
             for k in range(KILLS)]
    daemon = Daemon(dep, src.conf)
    begin = time.time()
    daemon.start()
    kills, open_after_kills = [], 0
    try:
        for mark in marks:
            deadline = time.time() + scaled(60, 240)
            while len(src.remote()) < mark:
                assert time.time() < deadline, 'no progress: %s' % (
                    daemon.log()[-3000:])
                time.sleep(0.25)
            time.sleep(rng.uniform(0, 0.3))
            daemon.kill()
            arrived = len(src.remote())
            uploads = len(src.open_uploads())
            open_after_kills += uploads
            kills.append((arrived, uploads))
            daemon.start()
        print('last kill at %.1fs' % (time.time() - begin))
        lost = src.wait_synced(timeout=scaled(90, 240))
        seconds = time.time() - begin
    finally:
        daemon.stop()
    print('kills (objects on the remote, open uploads):', kills)
    assert kills[-1][0] < OBJECTS, 'the last kill came after the sync'

    open_uploads = src.open_uploads()
    writes = src.writes(dep)
    duplicates = sum(n - 1 for n in writes.values())
    log = daemon.log()
    figures.record('sync_kill', objects=OBJECTS, slos=slos,
                   faults_injected=len(kills), objects_lost=len(lost),
                   duplicate_uploads=duplicates,
                   open_uploads_after_kills=open_after_kills,
                   open_uploads_at_end=len(open_uploads),
                   uploads_aborted_after_crash=sum(
                       int(line.split('aborted ')[1].split()[0])
                       for line in log.splitlines()
                       if 'multipart upload(s) of an interrupted' in line),
                   seconds=round(seconds, 1), seed=seed)
    assert lost == []
    assert open_uploads == []
    assert sorted(writes) == sorted(src.expected)
    assert 'Traceback' not in log
