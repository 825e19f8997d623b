"""What the sync-daemon scenarios (test_sync_kill, test_s3_outage) share:
a container opted in to the deployment's SeaweedFS and filled with plain
objects and SLOs of known content, the ``swiftsync sync`` daemon as an
operator runs it (``swiftsync sync CONF``, continuous), and the checks of
the remote copy."""

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from swiftsync import config
from swiftsync.stores import open_store
from swiftsync.stores.base import META_SOURCE_ETAG

from test.chaos.conftest import chaos_deployment
from test.integration.clients import s3_client, swift

SWIFTSYNC = os.path.join(os.path.dirname(sys.executable), 'swiftsync')
OPTIN = 'X-Container-Cloud-Sync-'
#: one object in this many is an SLO of SEGMENTS segments of SEGMENT bytes
SLO_EVERY = 20
SEGMENTS = 3
SEGMENT = 64 * 1024


def deployment(name):
    """A module fixture: one Swift cluster (one replica) and SeaweedFS."""
    @pytest.fixture(scope='module')
    def dep(tmp_path_factory):
        dep = chaos_deployment(tmp_path_factory, name, clusters=1,
                               replicas=1, s3='seaweedfs')
        yield dep
        dep.down()
    return dep


def body(i):
    """The content of plain object ``i``: 0.5 to 4 KiB, known by its
    number alone."""
    return (b'%07d.' % i) * (64 + (i * 37) % 448)


def segment(i, s):
    return (b'%07d/%d.' % (i, s)) * (SEGMENT // 10)


def slo_content(i):
    return b''.join(segment(i, s) for s in range(SEGMENTS))


def name_of(i):
    return ('slo-%05d' if i % SLO_EVERY == SLO_EVERY - 1 else
            'obj-%05d') % i


class Source(object):
    """A container of cluster 1 opted in to the SeaweedFS target."""

    def __init__(self, env, container):
        self.env = env
        self.cluster = env['clusters'][0]
        self.account = self.cluster['account']
        self.container = container
        self.segments = container + '-segments'
        self.conf = self.cluster['nodes'][0]['swiftsync_conf']
        self.creds = env['s3_servers']['seaweedfs']
        self.s3 = s3_client(self.creds)
        self.store = open_store(config.load(self.conf).target('s3'),
                                self.account, container)
        self.prefix = self.store.base
        self.expected = {}     # name -> md5 of its content
        conn = swift(self.cluster)
        conn.put_container(container, headers={OPTIN + 'Target': 's3'})
        conn.put_container(self.segments)

    def fill(self, numbers, round_size=600):
        """Upload objects ``numbers`` (SLOs among them, spread over the
        container's rows): plain objects and segments in tar archives (the
        ``bulk`` filter's extract-archive, so filling is quick), SLO
        manifests one by one. Returns how many are SLOs."""
        return sum(self._fill(numbers[k:k + round_size])
                   for k in range(0, len(numbers), round_size))

    def _fill(self, numbers, threads=6, per_archive=100):
        plain, slos = [], []
        for i in numbers:
            (slos if name_of(i).startswith('slo') else plain).append(i)
        archives = [(self.container, [(name_of(i), body(i))
                                      for i in plain[k:k + per_archive]])
                    for k in range(0, len(plain), per_archive)]
        segs = [('%s/%d' % (name_of(i), s), segment(i, s))
                for i in slos for s in range(SEGMENTS)]
        archives += [(self.segments, segs[k:k + per_archive])
                     for k in range(0, len(segs), per_archive)]
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(self._extract, archives))
            list(pool.map(self._manifests, [slos[k::threads]
                                            for k in range(threads)]))
        for i in plain:
            self.expected[name_of(i)] = hashlib.md5(body(i)).hexdigest()
        for i in slos:
            self.expected[name_of(i)] = hashlib.md5(
                slo_content(i)).hexdigest()
        return len(slos)

    def _extract(self, archive):
        container, files = archive
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w') as tar:
            for name, data in files:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        url, token = swift(self.cluster).get_auth()
        resp = requests.put('%s/%s?extract-archive=tar' % (url, container),
                            data=buf.getvalue(), timeout=300,
                            headers={'X-Auth-Token': token,
                                     'Accept': 'application/json'})
        result = resp.json()
        assert result['Number Files Created'] == len(files), result

    def _manifests(self, numbers):
        conn = swift(self.cluster)
        for i in numbers:
            name = name_of(i)
            manifest = [{'path': '/%s/%s/%d' % (self.segments, name, s)}
                        for s in range(SEGMENTS)]
            conn.put_object(self.container, name, json.dumps(manifest),
                            query_string='multipart-manifest=put')

    # -- the remote side ---------------------------------------------------
    def remote(self):
        """{object name: S3 ETag} of the container's keys on SeaweedFS."""
        out = {}
        for page in self.s3.get_paginator('list_objects_v2').paginate(
                Bucket=self.creds['bucket'], Prefix=self.prefix):
            for obj in page.get('Contents', []):
                out[obj['Key'][len(self.prefix):]] = obj['ETag'].strip('"')
        return out

    def open_uploads(self):
        return self.s3.list_multipart_uploads(
            Bucket=self.creds['bucket'], Prefix=self.prefix).get(
                'Uploads', [])

    def lost(self, remote=None):
        """Names missing on the remote or with the wrong content there
        (a plain object by its ETag; an SLO by the md5 of what a GET
        returns, the Swift ETag recorded beside it and its manifest)."""
        remote = self.remote() if remote is None else remote
        conn = swift(self.cluster)
        bad = []
        for name, md5 in sorted(self.expected.items()):
            if name not in remote:
                bad.append(name)
            elif name.startswith('obj') and remote[name] != md5:
                bad.append(name)
            elif name.startswith('slo') and not self._slo_ok(conn, name,
                                                               md5):
                bad.append(name)
        return bad

    def _slo_ok(self, conn, name, md5):
        got = self.s3.get_object(Bucket=self.creds['bucket'],
                                 Key=self.prefix + name)
        if hashlib.md5(got['Body'].read()).hexdigest() != md5:
            return False
        info = self.store.head(name)
        swift_etag = conn.head_object(self.container, name)['etag']
        manifest = self.store.get_manifest(name) or []
        return (info.internal.get(META_SOURCE_ETAG, '').strip('"') ==
                swift_etag.strip('"') and
                [m['name'] for m in manifest] ==
                ['/%s/%s/%d' % (self.segments, name, s)
                 for s in range(SEGMENTS)])

    def writes(self, dep):
        """{object name: times it was written} on SeaweedFS, from its
        filer's own change log (one event per object PUT or completed
        multipart upload; an interrupted upload writes nothing)."""
        cmd = dep.procs.procs['seaweedfs']['cmd']
        opt = dict(a.lstrip('-').split('=', 1) for a in cmd if '=' in a)
        base = '/buckets/%s/%s' % (self.creds['bucket'], self.prefix)
        proc = subprocess.run(
            [cmd[0], 'filer.meta.tail', '-filer=127.0.0.1:%s.%s' % (
                opt['filer.port'], opt['filer.port.grpc']),
             '-pathPrefix=' + base, '-timeAgo=3h', '-untilTimeAgo=1ms'],
            capture_output=True, text=True, timeout=120)
        text, decoder, pos, counts = proc.stdout, json.JSONDecoder(), 0, {}
        while True:
            start = text.find('{', pos)
            if start < 0:
                break
            event, pos = decoder.raw_decode(text, start)
            new = (event.get('eventNotification') or {}).get('newEntry')
            if not new or new.get('isDirectory'):
                continue
            path = '%s/%s' % (event['directory'], new['name'])
            if path.startswith(base):
                name = path[len(base):]
                counts[name] = counts.get(name, 0) + 1
        assert counts, 'no write events: %s' % proc.stderr[-2000:]
        return counts

    def pending(self):
        """Rows the daemon still has to handle (``swiftsync status``)."""
        proc = subprocess.run([SWIFTSYNC, 'status', self.conf, '--json'],
                              capture_output=True, text=True, timeout=60)
        for s in json.loads(proc.stdout):
            if (s['account'], s['container']) == (self.account,
                                                  self.container):
                return s['rows_pending']
        return None

    def wait_synced(self, timeout):
        """Wait until every object is on the remote with its content and
        the daemon has nothing pending; returns the names lost if not."""
        deadline = time.time() + timeout
        while True:
            remote = self.remote()
            missing = [n for n, md5 in self.expected.items()
                       if n not in remote or (n.startswith('obj') and
                                              remote[n] != md5)]
            if not missing and self.pending() == 0:
                return self.lost(remote)
            if time.time() > deadline:
                return self.lost(remote)
            time.sleep(0.5)


class Daemon(object):
    """``swiftsync sync CONF`` run on and on as an operator runs it; its
    log goes to the deployment's directory (searched for secrets)."""

    def __init__(self, dep, conf, log_name='chaos-swiftsync-sync.log'):
        self.conf = conf
        self.log_path = os.path.join(dep.workdir, log_name)
        self.proc = None

    def start(self):
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(
                [SWIFTSYNC, 'sync', self.conf, '-v'], stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self.proc.pid

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.kill(signal.SIGTERM)

    def cpu_seconds(self):
        """User + system CPU time of the daemon so far (/proc)."""
        with open('/proc/%d/stat' % self.proc.pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(
            os.sysconf('SC_CLK_TCK'))

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()
