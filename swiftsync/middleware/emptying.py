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
Before a mirrored container is deleted: carry this cluster's deletes to a
peer whose copy still holds the objects.

``swift delete CONTAINER`` (and ``rclone purge``) delete every object and
then the container, at once. Swift's container-sync carries the object
deletes to the other copies some seconds later, so at the container
``DELETE`` a peer's copy still lists the objects this cluster has just
deleted. Autosync does not make the client wait for that: for each object
the peer lists, the local cluster's answer decides

* a tombstone here (``404`` with ``X-Backend-Timestamp``): the object was
  deleted here; the delete is sent to the peer, signed, with the
  tombstone's time as ``X-Timestamp``. Swift's object server on the peer
  refuses (``409``) a delete older than what it holds, so an object written
  or updated there after the local delete is never removed: it blocks the
  container ``DELETE``;
* never known here (``404`` without a timestamp): written on the peer and
  not synced yet; it blocks;
* present here: nothing to carry; the local container ``DELETE`` answers
  Swift's own ``409``.

Bounded: a peer copy holding more than ``carry_deletes_max`` objects is not
listed; the ``DELETE`` is refused as before, until container-sync has caught
up.
"""

import json

from swift.common.swob import str_to_wsgi, wsgi_quote
from swift.common.utils import Timestamp
from swift.common.wsgi import make_pre_authed_request

from eventlet import GreenPool  # noqa: I100

#: peer objects looked up and deleted at once
CONCURRENCY = 8
#: rows per peer listing page
PAGE = 1000


class Emptying(object):
    """What carrying the deletes to one peer came to."""

    def __init__(self, cluster):
        self.cluster = cluster
        #: deletes the peer took (or had already)
        self.carried = 0
        #: names the peer keeps: newer there, or never here
        self.kept = []
        #: why the peer could not be emptied at all (listing too big,
        #: peer or local failure), or None
        self.error = None
        self.error_status = 409

    @property
    def emptied(self):
        return not self.kept and self.error is None

    def reason(self):
        """One line for the client's ``409``/``503`` body."""
        if self.error:
            return 'cluster %s: %s' % (self.cluster, self.error)
        first = self.kept[0]
        return ('container not empty on cluster %s: %d object%s newer there '
                'than the deletes of this cluster, or never here (%r%s)' % (
                    self.cluster, len(self.kept),
                    '' if len(self.kept) == 1 else 's', first,
                    ', ...' if len(self.kept) > 1 else ''))


class PeerEmptier(object):
    """Carries a container's local deletes to one peer (see the module).

    :param app: the rest of the local pipeline (below autosync)
    :param peer_request: ``(cluster, method, path, headers, query)`` ->
        ``PeerResult``: a signed request to a peer
    :param limit: the most objects a peer copy may hold to be emptied
    """

    def __init__(self, app, peer_request, limit, logger, swift_source):
        self.app = app
        self.peer_request = peer_request
        self.limit = limit
        self.logger = logger
        self.swift_source = swift_source

    def empty(self, req, cluster, path, count):
        """Carry the deletes of container ``path`` (a WSGI string) to
        ``cluster``, whose copy reports ``count`` objects."""
        out = Emptying(cluster)
        if count > self.limit:
            out.error = ('container holds %d objects there, more than '
                         'autosync carries deletes for (carry_deletes_max '
                         '= %d); retry once container-sync has caught up'
                         % (count, self.limit))
            return out
        names = self.peer_names(cluster, path, out)
        if out.error:
            return out
        pool = GreenPool(CONCURRENCY)
        for name, result in zip(names, pool.imap(
                lambda n: self.carry(req, cluster, path, n), names)):
            if result == 'kept':
                out.kept.append(name)
            elif result == 'carried':
                out.carried += 1
            elif result != 'here' and out.error is None:
                out.error, out.error_status = result, 503
        if out.carried:
            self.logger.info('autosync: carried %d deletes of %s to %s '
                             'before its DELETE', out.carried,
                             wsgi_quote(path), cluster)
        return out

    def peer_names(self, cluster, path, out):
        """Every object name of the peer's copy (at most limit + 1)."""
        names, marker = [], ''
        while len(names) <= self.limit:
            r = self.peer_request(cluster, 'GET', path, {}, {
                'format': 'json', 'limit': str(PAGE), 'marker': marker})
            if r.status == 404:
                return names
            if not r.ok:
                out.error, out.error_status = (
                    'listing failed: %s' % r.reason()), 503
                return names
            page = [o['name'] for o in _json(r.body) if 'name' in o]
            if not page:
                return names
            names.extend(page)
            marker = page[-1]
        out.error = ('container holds more than %d objects there; retry '
                     'once container-sync has caught up' % self.limit)
        return names

    def carry(self, req, cluster, path, name):
        """'carried', 'kept', 'here' or a failure's reason for one object
        the peer lists."""
        obj_path = path + '/' + str_to_wsgi(name)
        head = make_pre_authed_request(
            req.environ, 'HEAD', wsgi_quote(obj_path),
            swift_source=self.swift_source).get_response(self.app)
        if head.is_success:
            return 'here'
        if head.status_int != 404:
            return 'this cluster answered %s for %r' % (head.status, name)
        tombstone = head.headers.get('X-Backend-Timestamp')
        if not tombstone or Timestamp(tombstone) == Timestamp.zero():
            return 'kept'
        r = self.peer_request(cluster, 'DELETE', obj_path, {
            'X-Timestamp': Timestamp(tombstone).internal}, None)
        if r.ok or r.status == 404:
            return 'carried'
        if r.status == 409:
            return 'kept'   # newer on the peer than our delete
        return 'delete of %r failed: %s' % (name, r.reason())


def _json(body):
    try:
        listing = json.loads(body)
    except ValueError:
        return []
    return listing if isinstance(listing, list) else []
