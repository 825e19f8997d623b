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
Container opt-in to cloud sync through the Swift API.

A container owner sets, on a container PUT or POST:

``X-Container-Cloud-Sync-Target: <target>``
    the NAME of a ``[target:NAME]`` of the operator file; an empty value
    turns cloud sync off (and clears the headers below);
``X-Container-Cloud-Sync-Mode: sync|archive``
    default ``sync``;
``X-Container-Cloud-Sync-After: <seconds>``
    archive mode: the age of an object before it is archived; default 0;
``X-Container-Cloud-Sync-Delete: true|false``
    whether local deletes are propagated; default true in sync mode,
    false in archive mode.
``X-Container-Cloud-Sync-Merge: true|false``
    sync mode: the ``shunt`` also serves objects found only remotely and
    splices them into listings (always on in archive mode); default false;
``X-Container-Cloud-Sync-Restore: true|false``
    a full GET of an object served from the remote writes it back into
    the container (``shunt``); default false.

They are kept as container sysmeta (``X-Container-Sysmeta-Cloud-Sync-*``),
where the ``swiftsync sync`` daemon reads them from the container
database. This module is pure: it parses, validates and translates; the
``shunt`` filter decides who may set and see them.
"""

import re

from swiftsync.config import Mapping, parse_bool

#: short name -> client header
HEADERS = {
    'target': 'X-Container-Cloud-Sync-Target',
    'mode': 'X-Container-Cloud-Sync-Mode',
    'after': 'X-Container-Cloud-Sync-After',
    'delete': 'X-Container-Cloud-Sync-Delete',
    'merge': 'X-Container-Cloud-Sync-Merge',
    'restore': 'X-Container-Cloud-Sync-Restore',
}
#: the true/false ones
BOOLEANS = ('delete', 'merge', 'restore')
#: short name -> sysmeta header
SYSMETA = {k: 'X-Container-Sysmeta-Cloud-Sync-' + k.capitalize()
           for k in HEADERS}
MODES = ('sync', 'archive')
_SECONDS_RE = re.compile(r'^\d+(\.\d+)?$')


class OptInError(ValueError):
    """A bad opt-in header; ``str()`` is the one-line reason for a 400."""


def requested(headers):
    """True when ``headers`` (any case-insensitive mapping) carry an opt-in
    header."""
    return any(h in headers for h in HEADERS.values())


def parse_headers(headers, conf):
    """Validate the opt-in headers of a request.

    :param headers: the request headers (case-insensitive mapping)
    :param conf: the :class:`~swiftsync.config.SwiftSyncConfig`
    :returns: {sysmeta header: value}; an empty value removes the sysmeta
    :raises OptInError: with the reason
    """
    out = {}
    if HEADERS['target'] in headers:
        target = headers[HEADERS['target']].strip()
        if target and target not in conf.targets:
            raise OptInError('%s: unknown target %r%s' % (
                HEADERS['target'], target,
                ' (known: %s)' % ', '.join(sorted(conf.targets))
                if conf.targets else ' (no target is configured)'))
        out[SYSMETA['target']] = target
        if not target:
            # off: forget the rest too
            for key in HEADERS:
                if key != 'target':
                    out[SYSMETA[key]] = ''
            return out
    if HEADERS['mode'] in headers:
        mode = headers[HEADERS['mode']].strip().lower()
        if mode and mode not in MODES:
            raise OptInError('%s must be sync or archive' % HEADERS['mode'])
        out[SYSMETA['mode']] = mode
    if HEADERS['after'] in headers:
        after = headers[HEADERS['after']].strip()
        if after and not _SECONDS_RE.match(after):
            raise OptInError('%s must be a number of seconds >= 0'
                             % HEADERS['after'])
        out[SYSMETA['after']] = after
    for key in BOOLEANS:
        if HEADERS[key] not in headers:
            continue
        value = headers[HEADERS[key]].strip()
        if value:
            try:
                value = 'true' if parse_bool(value) else 'false'
            except ValueError:
                raise OptInError('%s must be true or false'
                                 % HEADERS[key]) from None
        out[SYSMETA[key]] = value
    return out


def client_headers(sysmeta):
    """The opt-in headers to show an owner, from response headers or
    broker metadata values (case-insensitive mapping of sysmeta header ->
    value)."""
    out = {}
    for key, header in SYSMETA.items():
        value = sysmeta.get(header)
        if value:
            out[HEADERS[key]] = value
    return out


def sysmeta_from_broker(metadata):
    """{sysmeta header: value} from ``ContainerBroker.metadata``
    ({name: (value, timestamp)}), names compared case-insensitively."""
    wanted = {v.lower(): v for v in SYSMETA.values()}
    out = {}
    for name, (value, _ts) in metadata.items():
        header = wanted.get(name.lower())
        if header and value:
            out[header] = value
    return out


#: Swift's object_versioning keeps a container's versions in the container
#: this sysmeta names (enabled or suspended, while versions remain)
VERSIONS_CONTAINER = 'X-Container-Sysmeta-Versions-Container'

#: why archive mode and object versioning do not go together
ARCHIVE_VERSIONED = (
    'archive mode is refused on a versioned container: archiving deletes '
    'the local copy, and with it the history object versioning keeps '
    '(use mode sync, which carries the current version of each object)')


def archives_versions(current, update, versioning):
    """Would a container be in archive mode and keep versions?

    :param current: the container's opt-in sysmeta ({sysmeta header:
        value}, any case)
    :param update: the sysmeta a request sets (from :func:`parse_headers`)
    :param versioning: whether the container keeps versions after it
    """
    merged = {k.lower(): v for k, v in current.items()}
    merged.update((k.lower(), v) for k, v in update.items())
    target = merged.get(SYSMETA['target'].lower())
    mode = (merged.get(SYSMETA['mode'].lower()) or 'sync').lower()
    return bool(target) and mode == 'archive' and bool(versioning)


def is_versioned(metadata):
    """Whether a container keeps versions, from its DB metadata
    ({name: (value, timestamp)}, any case)."""
    wanted = VERSIONS_CONTAINER.lower()
    return any(name.lower() == wanted and value
               for name, (value, _ts) in metadata.items())


def mapping_from_sysmeta(sysmeta, account, container):
    """The :class:`~swiftsync.config.Mapping` a container opted into, or
    None when it did not.

    The target is not checked here (the operator may have removed it since):
    the caller looks it up and reports an unknown one.

    :raises OptInError: when a stored value is unusable
    """
    target = sysmeta.get(SYSMETA['target'])
    if not target:
        return None
    mode = (sysmeta.get(SYSMETA['mode']) or 'sync').lower()
    if mode not in MODES:
        raise OptInError('stored mode %r is not sync or archive' % mode)
    after = sysmeta.get(SYSMETA['after']) or '0'
    if not _SECONDS_RE.match(after):
        raise OptInError('stored after %r is not a number of seconds'
                         % after)
    flags = {}
    for key in BOOLEANS:
        value = sysmeta.get(SYSMETA[key])
        try:
            flags[key] = parse_bool(value) if value else None
        except ValueError:
            raise OptInError('stored %s %r is not true or false'
                             % (key, value)) from None
    return Mapping(
        name='opt-in', account=account, container=container, target=target,
        mode=mode, after=float(after),
        propagate_delete=flags['delete'], merge=bool(flags['merge']),
        restore=bool(flags['restore']))
