# Copyright (c) 2026 swiftsync authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
# implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Processes of a dev deployment: started detached, recorded by PID in the
work dir, stopped by that PID and nothing else.

The record keeps each command line so a test can stop one server (a fault)
and start it again later with exactly the same arguments.
"""

import json
import os
import signal
import socket
import subprocess
import time


class DevError(Exception):
    """A dev deployment problem, worded for a one-line CLI error."""


class ProcessTable(object):
    """The processes of one work dir, persisted in ``run/procs.json``."""

    def __init__(self, workdir):
        self.workdir = os.path.abspath(workdir)
        self.run_dir = os.path.join(self.workdir, 'run')
        self.log_dir = os.path.join(self.workdir, 'log')
        self.path = os.path.join(self.run_dir, 'procs.json')
        self.procs = {}
        if os.path.exists(self.path):
            with open(self.path) as f:
                self.procs = json.load(f)
        # Popen objects of children started by this very process, so that
        # we can reap them (a zombie still has a /proc entry).
        self._children = {}

    def save(self):
        os.makedirs(self.run_dir, exist_ok=True)
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.procs, f, indent=2, sort_keys=True)
        os.replace(tmp, self.path)

    def log_path(self, name):
        return os.path.join(self.log_dir, name + '.log')

    def start(self, name, cmd, ports=(), cwd=None, env=None):
        """Start ``cmd`` detached; ``ports`` are (ip, port) it will listen on."""
        os.makedirs(self.log_dir, exist_ok=True)
        with open(self.log_path(name), 'ab') as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=cwd or self.workdir,
                env=env, start_new_session=True)
        self._children[proc.pid] = proc
        self.procs[name] = {'pid': proc.pid, 'cmd': list(cmd),
                            'ports': [list(p) for p in ports],
                            'cwd': cwd or self.workdir, 'env': env}
        self.save()
        return proc.pid

    def restart(self, name):
        """Start a stopped process again with its recorded command line."""
        rec = self.procs[name]
        if self.is_running(name):
            raise DevError('%s is already running (pid %d)'
                           % (name, rec['pid']))
        return self.start(name, rec['cmd'], [tuple(p) for p in rec['ports']],
                          rec.get('cwd'), rec.get('env'))

    def is_running(self, name):
        rec = self.procs.get(name)
        return bool(rec) and pid_alive(rec['pid'], rec['cmd'],
                                       self._children)

    def running(self):
        return [n for n in self.procs if self.is_running(n)]

    def stop(self, names=None, timeout=15.0, sig=signal.SIGTERM):
        """Signal the named processes (default all) and wait for them.

        Only PIDs this table started are signalled, and only while their
        command line still matches (a PID may have been reused).
        """
        names = list(self.procs) if names is None else list(names)
        live = [n for n in names if self.is_running(n)]
        for name in live:
            try:
                os.kill(self.procs[name]['pid'], sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + timeout
        while live and time.time() < deadline:
            live = [n for n in live if self.is_running(n)]
            if live:
                time.sleep(0.05)
        for name in live:
            # Did not stop in time: make sure nothing is left behind.
            try:
                os.kill(self.procs[name]['pid'], signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.time() + 5
        while live and time.time() < deadline:
            live = [n for n in live if self.is_running(n)]
            if live:
                time.sleep(0.05)
        return live

    def tail(self, name, lines=5):
        try:
            with open(self.log_path(name), 'rb') as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 4096))
                text = f.read().decode('utf-8', 'replace')
        except OSError:
            return ''
        return ' | '.join(
            ln.strip() for ln in text.splitlines()[-lines:] if ln.strip())


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return [a.decode('utf-8', 'replace')
                    for a in f.read().split(b'\0') if a]
    except OSError:
        return None


def _is_zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except (OSError, IndexError):
        return True


def pid_alive(pid, cmd, children=None):
    """True if ``pid`` runs and is still the process we started as ``cmd``."""
    if children and pid in children:
        # Our own unreaped child: its pid cannot have been reused, and its
        # cmdline may still be ours for a moment between fork and exec.
        return children[pid].poll() is None
    else:
        try:
            # reap it if it is our child from an earlier call in this process
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    actual = _cmdline(pid)
    if actual is None or _is_zombie(pid):
        return False
    # Interpreters rewrite argv[0]; the last argument (a conf file or a
    # dir) is what identifies our process.
    return bool(actual) and actual[-1] == cmd[-1]


def port_free(ip, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # as the servers do: a port held only by TIME_WAIT leftovers is free
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def port_open(ip, port, timeout=0.2):
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False
