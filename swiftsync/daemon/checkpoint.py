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
Checkpoints of the ``swiftsync sync`` daemon: one small JSON file per
container database under ``<state_dir>/sync/``.

A checkpoint says how far the daemon got in the rows of one container DB:

``row``
    every row up to this ROWID has been handled by its first pass on this
    node (rows owned by this node copied, the others left to their owner);
``verified``
    every row up to this ROWID has also been checked after the slack
    period, whoever owned it (the verification pass);
``retry``
    rows at or below ``row`` that failed, with their error, attempt count
    and the time of the next attempt. They are part of the checkpoint: a
    failed row is pending until it succeeds or a newer row replaces it.

It belongs to one database (``db_id``) and one destination
(``fingerprint``: target, remote container, mode). When either changes the
checkpoint starts over from row 0, so a new target receives everything.

Files are replaced atomically (write, fsync, rename), so a crash leaves
either the old or the new checkpoint, never a torn one.
"""

import json
import os
import tempfile
import time

SUBDIR = 'sync'
VERSION = 1


def checkpoint_dir(state_dir):
    return os.path.join(state_dir, SUBDIR)


def checkpoint_path(state_dir, db_path):
    """One file per container DB; the DB's file name is its hash."""
    name = os.path.splitext(os.path.basename(db_path))[0]
    return os.path.join(checkpoint_dir(state_dir), name + '.json')


class Checkpoint(object):
    """The progress of the daemon in one container DB."""

    def __init__(self, path, data=None):
        self.path = path
        self.data = data or {}
        self.data.setdefault('version', VERSION)
        self.data.setdefault('row', 0)
        self.data.setdefault('verified', 0)
        self.data.setdefault('retry', {})
        self.data.setdefault('last_error', None)
        self.data.setdefault('stats', {})

    # -- loading and saving ------------------------------------------------
    @classmethod
    def load(cls, path):
        """The checkpoint in ``path``; an empty one when there is none or
        it cannot be read (the daemon then starts over, which only costs
        remote HEADs: copies are skipped when the remote is current)."""
        try:
            with open(path) as f:
                data = json.load(f)
            if not isinstance(data, dict) or data.get('version') != VERSION:
                data = None
        except (OSError, ValueError):
            data = None
        return cls(path, data)

    def save(self):
        self.data['saved_at'] = time.time()
        directory = os.path.dirname(self.path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')
        try:
            with os.fdopen(fd, 'w') as f:
                json.dump(self.data, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    # -- identity ----------------------------------------------------------
    def bind(self, db_id, account, container, fingerprint, target, mode):
        """Make this the checkpoint of ``db_id`` synced to ``fingerprint``;
        start over from row 0 if it belonged to another DB or destination.

        :returns: True when it was reset
        """
        reset = (self.data.get('db_id') != db_id or
                 self.data.get('fingerprint') != fingerprint)
        if reset:
            self.data.update(row=0, verified=0, retry={}, last_error=None,
                             stats={}, started_at=time.time())
        self.data.update(db_id=db_id, account=account, container=container,
                         fingerprint=fingerprint, target=target, mode=mode)
        return reset

    # -- accessors ---------------------------------------------------------
    @property
    def row(self):
        return self.data['row']

    @row.setter
    def row(self, value):
        self.data['row'] = value

    @property
    def verified(self):
        return self.data['verified']

    @verified.setter
    def verified(self, value):
        self.data['verified'] = value

    @property
    def retry(self):
        """{str(ROWID): entry}; JSON keys are strings."""
        return self.data['retry']

    def add_retry(self, row, error, now, backoff):
        key = str(row['ROWID'])
        entry = self.retry.get(key) or {
            'name': row['name'], 'deleted': bool(row['deleted']),
            'created_at': row['created_at'], 'attempts': 0,
            'first_error_at': now}
        entry['attempts'] += 1
        entry['error'] = error
        entry['next_try'] = now + backoff(entry['attempts'])
        self.retry[key] = entry
        return entry

    def drop_retry(self, rowid):
        self.retry.pop(str(rowid), None)

    def set_error(self, message, now=None):
        self.data['last_error'] = {'message': message,
                                   'time': now or time.time()}

    def clear_error(self):
        self.data['last_error'] = None

    def count(self, stat, n=1):
        stats = self.data['stats']
        stats[stat] = stats.get(stat, 0) + n


def iter_checkpoints(state_dir):
    """Every checkpoint saved under ``state_dir``."""
    directory = checkpoint_dir(state_dir)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return
    for name in names:
        if name.endswith('.json') and not name.startswith('.'):
            yield Checkpoint.load(os.path.join(directory, name))
