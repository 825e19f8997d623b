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

"""An S3 client for an env.json ``s3`` entry (tests, demo, benchmarks)."""

from swiftsync.stores.botoclient import make_s3_client


def s3_client(creds, **kwargs):
    return make_s3_client(creds['endpoint'], creds['access_key'],
                          creds['secret_key'], creds.get('region',
                                                         'us-east-1'),
                          **kwargs)
