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

"""The one place a botocore S3 client is built (SigV4, path style by default)."""

import datetime

import botocore.config
import botocore.session
from botocore.utils import parse_timestamp


def fast_timestamp(value):
    """botocore's timestamp parser, minus dateutil for ISO 8601.

    Every key of a listing carries a LastModified; dateutil spends about
    65 us on each, 80% of the CPU of a 1,000-key page. Other formats (the
    RFC 1123 dates of HEAD responses) go to botocore's parser.
    """
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return parse_timestamp(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def make_s3_client(endpoint, access_key, secret_key, region='us-east-1',
                   addressing_style='path', max_connections=32,
                   timeout=10, retries=0, verify=True, sign_payload=None):
    """``sign_payload=False``: send streamed bodies as UNSIGNED-PAYLOAD
    (botocore would otherwise read a body to hash it before sending it,
    which a non-seekable stream cannot do); data integrity then rests on
    Content-MD5."""
    session = botocore.session.get_session()
    session.get_component('response_parser_factory').set_parser_defaults(
        timestamp_parser=fast_timestamp)
    s3_config = {'addressing_style': addressing_style}
    if sign_payload is not None:
        s3_config['payload_signing_enabled'] = sign_payload
    config = botocore.config.Config(
        signature_version='s3v4', s3=s3_config,
        max_pool_connections=max_connections, connect_timeout=timeout,
        read_timeout=timeout,
        # no CRC trailers (aws-chunked) on streamed bodies: S3 clones and
        # older servers do not all take them; we send Content-MD5 instead
        request_checksum_calculation='when_required',
        response_checksum_validation='when_required',
        # retries are ours to decide (backoff, checkpoints), not botocore's
        retries={'total_max_attempts': retries + 1, 'mode': 'standard'})
    return session.create_client(
        's3', endpoint_url=endpoint or None, region_name=region,
        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        config=config, verify=verify)
