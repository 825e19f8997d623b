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
Carrying the versions of a versioned container to its other copies.

Swift's container-sync carries current objects only, and Swift refuses
object versioning on a container-sync source; so a mirrored container with
``X-Versions-Enabled`` has no sync, and ``swiftsync reconcile`` carries its
versions instead. It does so through Swift's own API on the peer, which
makes the peer's history the same as the origin's:

- a version (an object of the hidden container ``\\x00versions\\x00<name>``)
  is ``PUT`` to the peer's container with ``X-Timestamp`` set to its version
  id. Swift's ``object_versioning`` on the peer names the new version after
  the request's timestamp, so the peer gets the same version id, data,
  content type and user metadata; when the peer already has a newer current
  version, the older one still lands in its versions container (the peer
  answers ``409`` for the current object only);
- a delete marker is a ``DELETE`` with ``X-Timestamp`` set to its version
  id: the peer writes a delete marker of the same id.

Every cluster runs reconcile, so each copy pushes the versions written on
its own cluster, and a pass is idempotent: a version id the peer lists is
never sent again. What is not carried: the ``null`` version (objects written
before versioning was enabled, which container-sync carried while the
container was synced), metadata ``POST``-ed later to an old version, and a
version's removal (``DELETE ?version-id=``) on another cluster.

This module is the pure part: listings in, what to send out.
"""

from swift.common.middleware.versioned_writes.object_versioning import (
    DELETE_MARKER_CONTENT_TYPE, build_versions_container_name,
    build_versions_object_name, parse_versions_object_name)

__all__ = ['Version', 'from_hidden_listing', 'from_versions_listing',
           'missing', 'oldest_first', 'versions_container']


def versions_container(container):
    """The hidden container Swift keeps the versions of ``container`` in."""
    return build_versions_container_name(container)


class Version(object):
    """One version of an object: its name, version id and whether it is a
    delete marker. Ordered as Swift lists them: by name, newest first."""

    __slots__ = ('name', 'version_id', 'is_marker', 'key')

    def __init__(self, name, version_id, is_marker):
        self.name = name
        self.version_id = version_id
        self.is_marker = is_marker
        # the hidden container's object name: name, then inverted time
        self.key = build_versions_object_name(name, version_id)

    @property
    def hidden_name(self):
        return self.key

    def __repr__(self):
        return 'Version(%r, %r%s)' % (self.name, self.version_id,
                                      ', marker' if self.is_marker else '')


def _is_marker(content_type):
    return (content_type or '').split(';')[0].strip() == \
        DELETE_MARKER_CONTENT_TYPE.split(';')[0]


def from_hidden_listing(items):
    """Versions from a JSON listing of the hidden versions container."""
    for item in items:
        name, version_id = parse_versions_object_name(item['name'])
        yield Version(name, version_id, _is_marker(item.get('content_type')))


def from_versions_listing(items):
    """Versions from a ``?versions`` JSON listing of the user container;
    the ``null`` versions (no version id) are left out."""
    for item in items:
        version_id = item.get('version_id')
        if not version_id or version_id == 'null':
            continue
        yield Version(item['name'], version_id,
                      _is_marker(item.get('content_type')))


def missing(source, dest):
    """The versions of ``source`` that ``dest`` lacks.

    Both are iterables of :class:`Version` in listing order; they are walked
    together, so memory does not grow with the number of versions.
    """
    dest = iter(dest)
    d = next(dest, None)
    for v in source:
        while d is not None and d.key < v.key:
            d = next(dest, None)
        if d is not None and d.key == v.key:
            continue
        yield v


def oldest_first(versions):
    """Versions in listing order (newest first per name) regrouped so that
    each name's versions come oldest first: the order to replay them in, so
    that the newest ends up the current one."""
    group = []
    for v in versions:
        if group and group[0].name != v.name:
            for g in reversed(group):
                yield g
            group = []
        group.append(v)
    for g in reversed(group):
        yield g
