#!/usr/bin/env python3
"""sigv4_botocore.py — second opinion for the SigV4 unit test: signs one S3 request with botocore's
S3SigV4Auth at a fixed time and prints the Authorization header.

Usage: sigv4_botocore.py REQUEST.json
  {"access_key":..,"secret_key":..,"region":..,"amz_date":"YYYYMMDDTHHMMSSZ","method":"PUT",
   "url":"http://host:port/bucket/percent%20encoded/key?query","headers":[["Content-Type","text/plain"]],
   "body_hex":"..."}
botocore adds Host, X-Amz-Date and X-Amz-Content-SHA256 (SHA-256 of the body on http) itself."""
import datetime
import json
import sys

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    fixed = datetime.datetime.strptime(spec["amz_date"], "%Y%m%dT%H%M%SZ")

    class FixedDateTime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed

        @classmethod
        def now(cls, tz=None):
            return fixed.replace(tzinfo=tz) if tz else fixed

    real_datetime_module = datetime

    class FixedDateTimeModule:
        datetime = FixedDateTime
        timezone = real_datetime_module.timezone
        timedelta = real_datetime_module.timedelta

    botocore.auth.datetime = FixedDateTimeModule  # the signer reads the clock through this module name
    if hasattr(botocore.auth, "get_current_datetime"):  # newer botocore releases read it through a helper
        botocore.auth.get_current_datetime = lambda *args, **kwargs: fixed

    body = bytes.fromhex(spec.get("body_hex", ""))
    request = AWSRequest(method=spec["method"], url=spec["url"], data=body,
                         headers=dict(spec.get("headers", [])))
    creds = Credentials(spec["access_key"], spec["secret_key"])
    signer = botocore.auth.S3SigV4Auth(creds, "s3", spec["region"])
    signer.add_auth(request)
    sys.stdout.write(request.headers["Authorization"] + "\n")
    sys.stderr.write("botocore %s\n" % botocore.__version__)


if __name__ == "__main__":
    main()
