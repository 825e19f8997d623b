"""Scenario 2 of issue 8: the S3 server (SeaweedFS) stopped in the middle
of a sync by ``swiftsync sync``, then started again.

Everything arrives with its content once it is back, objects written
while it was down included, and the daemon does not spin while it is
down: a listener on the dead server's port counts every connection the
daemon opens (and resets each one, as close to a refused connection as a
counter can be), and its CPU time is read from /proc.
"""

import math
import socket
import struct
import threading
import time
from urllib.parse import urlsplit

from swiftsync import config
from test.chaos.conftest import scaled
from test.chaos.syncdaemon import Daemon, Source, deployment

OBJECTS = scaled(300, 2000)
#: written while the server is down
LATE = scaled(20, 100)
OUTAGE = scaled(8, 30)


dep = deployment('s3_outage')


class ConnectionCounter(object):
    """Takes the port of a server being stopped as soon as it lets it go
    (a refused connection cannot be counted), then counts and resets
    every connection."""

    def __init__(self, endpoint):
        where = urlsplit(endpoint)
        self.address = (where.hostname, where.port)
        self.times = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _bind(self):
        deadline = time.time() + 30
        while self.running:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(self.address)
                sock.listen(128)
                sock.settimeout(0.1)
                return sock
            except OSError:
                sock.close()
                assert time.time() < deadline, 'the port stayed taken'
                time.sleep(0.005)

    def _serve(self):
        sock = self._bind()
        while self.running:
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                continue
            self.times.append(time.time())
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack('ii', 1, 0))
            conn.close()
        if sock is not None:
            sock.close()

    def close(self):
        self.running = False
        self.thread.join()
        return self.times


def test_s3_outage_mid_sync(dep, figures):
    src = Source(dep.env, 'outage')
    slos = src.fill(list(range(OBJECTS)))
    daemon = Daemon(dep, src.conf)
    begin = time.time()
    daemon.start()
    try:
        deadline = time.time() + scaled(60, 180)
        while len(src.remote()) < OBJECTS // 3:
            assert time.time() < deadline, daemon.log()[-3000:]
            time.sleep(0.25)
        down = time.time()
        cpu_before = daemon.cpu_seconds()
        counter = ConnectionCounter(src.creds['endpoint'])
        dep.procs.stop(['seaweedfs'])
        slos += src.fill(list(range(OBJECTS, OBJECTS + LATE)))
        time.sleep(max(0, OUTAGE - (time.time() - down)))
        cpu = daemon.cpu_seconds() - cpu_before
        times = counter.close()
        outage = time.time() - down
        requests = len(times)
        # once the requests in flight have given up: the steady state
        late_requests = len([t for t in times if t > down + outage / 2])
        dep.restart('seaweedfs')
        back = time.time()
        arrived_during = len(src.remote())
        lost = src.wait_synced(timeout=scaled(90, 240))
        recovery = time.time() - back
        seconds = time.time() - begin
    finally:
        daemon.stop()
    log = daemon.log()
    open_uploads = src.open_uploads()
    print('outage %.1fs: %d connections (%d in its second half), %.2fs '
          'CPU; back in %.1fs' % (outage, requests, late_requests, cpu,
                                  recovery))
    figures.record('s3_outage', objects=OBJECTS + LATE, slos=slos,
                   objects_written_during_outage=LATE,
                   faults_injected=1, outage_seconds=round(outage, 1),
                   requests_during_outage=requests,
                   requests_in_second_half_of_outage=late_requests,
                   daemon_cpu_seconds_during_outage=round(cpu, 2),
                   objects_on_remote_when_back=arrived_during,
                   seconds_to_catch_up_after_outage=round(recovery, 1),
                   objects_lost=len(lost), open_uploads_at_end=len(
                       open_uploads), seconds=round(seconds, 1))
    assert lost == []
    assert open_uploads == []
    assert 'Traceback' not in log
    # no hot loop: the objects in flight give up after their retries (two
    # waves at most: the breaker trips on failures, which take the retries
    # to come), then a probe now and then, further and further apart (a
    # few requests each: uploads to clean up, listing, one object)
    conf = config.load(src.conf)
    tries = conf.target('s3').retries + 1
    probes = math.log2(outage / conf.globals.interval) + 2
    assert 0 < requests <= (2 * conf.globals.concurrency * tries +
                            (2 + tries) * probes), requests
    if outage >= 20:
        assert late_requests <= (2 + tries) * 3, late_requests
    assert cpu <= 0.2 * outage, cpu
