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
Remote stores: one interface (:class:`RemoteStore`), one response shape
(:class:`ObjectInfo`), for S3 buckets, remote Swift clusters and the local
cluster. :func:`open_store` binds a ``[target:NAME]`` to the remote place of
one local container; see doc/stores.rst for the layouts.
"""

import threading

from swiftsync.stores.base import (  # noqa: F401
    CHUNK_SIZE, INTERNAL_PREFIX, META_LARGE, META_MD5, META_SOURCE_ETAG,
    NotFound, ObjectInfo, PartData, PreconditionFailed, RemoteStore,
    SourceChanged, StoreError)

_lock = threading.Lock()
_clients = {}


def _shared(target, make):
    """One botocore client / Swift auth session per target: they are
    thread- and greenthread-safe and costly to build."""
    with _lock:
        if target not in _clients:
            _clients[target] = make()
        return _clients[target]


def s3_client_for(target):
    from swiftsync.stores.botoclient import make_s3_client
    return _shared(target, lambda: make_s3_client(
        target.endpoint, target.access_key, target.secret_key,
        target.region, addressing_style=target.addressing_style,
        max_connections=target.max_connections, timeout=target.timeout,
        verify=target.verify_ssl, sign_payload=False, lean_listing=True))


def s3_client_soon(target):
    """A Future of :func:`s3_client_for`, built on a thread: botocore's
    import and models cost 0.1-0.2 s of CPU, which a caller can spend
    waiting for another store (``swiftsync mirror``)."""
    from concurrent.futures import Future
    future = Future()

    def build():
        try:
            future.set_result(s3_client_for(target))
        except BaseException as e:
            future.set_exception(e)
    threading.Thread(target=build, name='s3-client', daemon=True).start()
    return future


def s3_wire_for(target):
    """The lean read path of an S3 target (see stores.s3wire), or None
    for AWS itself and ``addressing_style = auto``: there botocore's
    endpoint rules (regions, redirects to a bucket's region, the choice of
    a bucket's host) stay in charge."""
    if not (target.endpoint and target.access_key and target.secret_key) \
            or target.addressing_style == 'auto':
        return None
    from swiftsync.stores.s3wire import S3Wire
    return _shared(('wire', target), lambda: S3Wire(
        target.endpoint, target.access_key, target.secret_key,
        target.region, addressing_style=target.addressing_style,
        timeout=target.timeout, verify=target.verify_ssl,
        max_connections=target.max_connections))


def swift_auth_for(target):
    from swiftsync.stores.swift import SwiftAuth
    return _shared(target, lambda: SwiftAuth(
        target.auth_url, target.user, target.key, target.auth_version,
        target.project_name, target.project_domain_name,
        target.user_domain_name, target.storage_url, target.account,
        timeout=target.timeout, verify=target.verify_ssl,
        max_connections=target.max_connections,
        region_name=target.region_name,
        application_credential=(
            target.application_credential_id,
            target.application_credential_secret)
        if target.application_credential_id else None))


def remote_container(target, container, mapping=None):
    """The container name used on the remote side."""
    name = (mapping.remote_container if mapping is not None and
            mapping.remote_container else container)
    if target.type == 'swift' and target.container_suffix:
        name += target.container_suffix
    return name


def open_store(target, account, container, mapping=None, soon=False):
    """A RemoteStore bound to where ``account/container`` lives on
    ``target`` (a config S3Target or SwiftTarget). ``soon``: an S3 client
    that reads through botocore is built on a thread, the store's first
    request waits for it."""
    name = remote_container(target, container, mapping)
    if target.type == 's3':
        from swiftsync.stores.s3 import S3Store
        wire = s3_wire_for(target)
        if wire is not None:
            # reads need no botocore: its client is built on the first write
            client = None
        else:
            client = s3_client_soon(target) if soon else s3_client_for(target)
        return S3Store(client, target.bucket, account, name,
                       layout=target.layout, prefix=target.prefix,
                       sse=target.sse, sse_kms_key_id=target.sse_kms_key_id,
                       storage_class=target.storage_class, wire=wire,
                       make_client=lambda: s3_client_for(target),
                       trailing_slash=target.trailing_slash)
    if target.type == 'swift':
        from swiftsync.stores.swift import RemoteSwift
        return RemoteSwift(swift_auth_for(target), name)
    raise ValueError('unknown target type %r' % (target.type,))


def LocalSwift(internal_client_or_conf, account, container, **kwargs):
    """The local cluster's ``account/container`` (see stores.local)."""
    from swiftsync.stores.local import LocalSwift as _LocalSwift
    return _LocalSwift(internal_client_or_conf, account, container, **kwargs)
