"""The download center on an S3-protocol server: moto's server mode on
127.0.0.1 stands in for AWS/MinIO, `carbon` (the real binary) writes exports
into a bucket prefix, and an independent client (boto3, pyarrow, curl) reads
every part and the manifest back.

Checked: each part's sha256 and row count equal the manifest's; the Parquet
part's prices equal Indiana Hub's row of the raw MISO report (parsed here,
not by carbon); a gzipped CSV part decompresses to the same rows; the link
carbon hands out is the store's presigned GET, fetched with curl byte for
byte, whose SigV4 signature botocore recomputes to the same digits (moto
does not check presigned signatures itself); a bucket that refuses writes fails
the export with a clear error and leaves no object behind.

Run by scripts/test.sh: python3 scripts/it/s3_exports.py <carbon binary>.
"""

import csv
import gzip
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

import boto3
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORT = os.path.join(
    ROOT, "..", "shared", "fixtures", "iso", "miso",
    "da_expost_lmp_20261001_hubs_interfaces_subset.csv",
)
BUCKET = "carbon-exports"
PREFIX = "team-a/carbon"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def raw_indiana():
    """Indiana Hub's 24 DA LMPs of 2026-10-01 from the raw report: hour
    ending h in EST (UTC-5) → interval start 2026-10-01T(h-1+5)Z."""
    with open(REPORT, newline="") as f:
        for row in csv.reader(f):
            if row[:3] == ["INDIANA.HUB", "Hub", "LMP"]:
                start = datetime(2026, 10, 1, 5, tzinfo=timezone.utc)
                return {start + timedelta(hours=h): float(v) for h, v in enumerate(row[3:27])}
    raise SystemExit("INDIANA.HUB not in the report")


def carbon(binary, cfg, *args, ok=True):
    p = subprocess.run([binary, "--config", cfg, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit(f"carbon {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def main():
    binary = os.path.abspath(sys.argv[1])
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        key_id, secret = "AKIACARBONTEST000001", "carbon-test-secret-" + os.urandom(8).hex()
        s3 = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id=key_id, aws_secret_access_key=secret,
        )
        s3.create_bucket(Bucket=BUCKET)
        run(binary, endpoint, s3, key_id, secret)
    finally:
        server.terminate()
        server.wait(timeout=10)


def sigv4_of(url, key_id, secret):
    """The SigV4 query signature botocore computes for `url` (its own
    X-Amz-Date and X-Amz-Expires, the signature left out). botocore's real
    signer does the work; only its clock is pinned to the URL's X-Amz-Date
    (the signer takes no timestamp argument), so both sign the same instant."""
    from unittest import mock
    from urllib.parse import parse_qsl, urlsplit

    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parts = urlsplit(url)
    q = dict(parse_qsl(parts.query))
    when = datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    signer = botocore.auth.S3SigV4QueryAuth(
        Credentials(key_id, secret), "s3", "us-east-1", expires=int(q["X-Amz-Expires"])
    )
    req = AWSRequest(method="GET", url=f"{parts.scheme}://{parts.netloc}{parts.path}")
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        signer.add_auth(req)
    return dict(parse_qsl(urlsplit(req.url).query))["X-Amz-Signature"]


def listing(s3):
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def config(d, endpoint, bucket, key_id, secret_key):
    secret = os.path.join(d, "s3.secret")
    with open(secret, "w") as f:
        f.write(secret_key + "\n")
    cfg = os.path.join(d, f"carbon-{bucket}.toml")
    with open(cfg, "w") as f:
        f.write(f"""data_dir = "{d}/data"
[exports.s3]
url = "s3://{bucket}/{PREFIX}"
endpoint = "{endpoint}"
region = "us-east-1"
access_key_id = "{key_id}"
secret_access_key_file = "{secret}"
allow_http = true
""")
    return cfg


def run(binary, endpoint, s3, key_id, secret):
    query = ["-i", "MISO.INDIANA.HUB", "--start", "2026-10-01", "--end", "2026-10-02", "--market-run", "da"]
    raw = raw_indiana()
    with tempfile.TemporaryDirectory() as d:
        cfg = config(d, endpoint, BUCKET, key_id, secret)
        carbon(binary, cfg, "ingest", "file", REPORT)
        # Secrets never reach the output.
        out = carbon(binary, cfg, "export", "prices", *query, "--as", "parquet")
        assert secret not in out.stdout + out.stderr
        pid = out.stdout.split(":")[0].strip()
        out = carbon(binary, cfg, "export", "prices", *query, "--as", "csv", "--gzip")
        cid = out.stdout.split(":")[0].strip()
        for eid, fmt in ((pid, "parquet"), (cid, "csv")):
            base = f"{PREFIX}/exports/platform/{eid}/"
            keys = sorted(k for k in listing(s3) if k.startswith(base))
            manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=base + "manifest.json")["Body"].read())
            names = sorted(base + p["name"] for p in manifest["parts"]) + [base + "manifest.json"]
            assert keys == sorted(names), (keys, names)
            assert manifest["rows"] == 24 and len(manifest["parts"]) == 1, manifest
            for part in manifest["parts"]:
                body = s3.get_object(Bucket=BUCKET, Key=base + part["name"])["Body"].read()
                assert hashlib.sha256(body).hexdigest() == part["sha256"], part["name"]
                assert len(body) == part["bytes"], part["name"]
                if fmt == "parquet":
                    t = pq.read_table(io.BytesIO(body)).to_pydict()
                    got = dict(zip(t["interval_start_utc"], t["lmp"]))
                    got = {k if k.tzinfo else k.replace(tzinfo=timezone.utc): v for k, v in got.items()}
                else:
                    rows = list(csv.DictReader(io.StringIO(gzip.decompress(body).decode())))
                    got = {
                        datetime.fromisoformat(r["interval_start_utc"].replace("Z", "+00:00")): float(r["lmp"])
                        for r in rows
                    }
                assert len(got) == part["rows"] == 24, (part, len(got))
                assert got == raw, (fmt, sorted(got.items())[:3], sorted(raw.items())[:3])
        # An Excel part, opened by openpyxl: the same prices as real
        # date-times and numbers.
        import openpyxl
        out = carbon(binary, cfg, "export", "prices", *query, "--as", "xlsx")
        xid = out.stdout.split(":")[0].strip()
        body = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/exports/platform/{xid}/prices-2026-10.xlsx")["Body"].read()
        sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True)["prices"]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:5] == ("instrument_id", "market_run", "interval_start_utc", "interval_end_utc", "lmp"), rows[0]
        got = {r[2].replace(tzinfo=timezone.utc): r[4] for r in rows[1:]}
        assert got == raw, "xlsx prices differ from the raw report"
        assert all(isinstance(r[4], float) for r in rows[1:])
        # Each object carries its content type (a presigned brief opens as a page).
        head = s3.head_object(Bucket=BUCKET, Key=f"{PREFIX}/exports/platform/{cid}/prices-2026-10.csv.gz")
        assert head["ContentType"] == "application/gzip", head["ContentType"]
        head = s3.head_object(Bucket=BUCKET, Key=f"{PREFIX}/exports/platform/{pid}/manifest.json")
        assert head["ContentType"] == "application/json", head["ContentType"]
        out = carbon(binary, cfg, "report", "create", "--market", "MISO", "--month", "2026-10")
        rid = out.stdout.split(":")[0].strip()
        head = s3.head_object(Bucket=BUCKET, Key=f"{PREFIX}/exports/platform/{rid}/brief-MISO-2026-10.html")
        assert head["ContentType"] == "text/html; charset=utf-8", head["ContentType"]
        pdf = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/exports/platform/{rid}/brief-MISO-2026-10.pdf")
        assert pdf["ContentType"] == "application/pdf" and pdf["Body"].read().startswith(b"%PDF-")
        # The link is the store's presigned GET; curl fetches it byte for byte.
        part = f"prices-2026-10.parquet"
        url = carbon(binary, cfg, "export", "link", pid, "--file", part, "--ttl", "600").stdout.strip()
        assert url.startswith(f"{endpoint}/{BUCKET}/{PREFIX}/exports/platform/{pid}/{part}?"), url
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=600" in url, url
        fetched = subprocess.run(["curl", "-sf", url], capture_output=True, check=True).stdout
        want = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/exports/platform/{pid}/{part}")["Body"].read()
        assert fetched == want
        # moto's server does not check signatures of presigned GETs (with its
        # auth switched on it answers 500 even to boto3's own), so the
        # signature is recomputed here by botocore's SigV4 presigner for the
        # URL's own instant and compared: a link S3 itself would accept.
        assert sigv4_of(url, key_id, secret) == url.split("X-Amz-Signature=")[1], url
        tampered = url.replace(f"/{pid}/", f"/{cid}/")
        assert sigv4_of(tampered, key_id, secret) != tampered.split("X-Amz-Signature=")[1]
        # A bucket that refuses writes (it does not exist): a clear error,
        # the export failed, nothing left in any bucket.
        before = listing(s3)
        cfg2 = config(d, endpoint, "no-such-bucket", key_id, secret)
        out = carbon(binary, cfg2, "export", "prices", *query, "--as", "csv", ok=False)
        assert out.returncode != 0, out.stdout
        assert "object store refused the write" in out.stderr, out.stderr
        assert secret not in out.stdout + out.stderr
        after = listing(s3)
        assert before == after
        listed = carbon(binary, cfg2, "export", "list", "--format", "json").stdout
        assert '"failed"' in listed, listed
        print(f"s3 exports: 2 exports read back by boto3 (sha256, rows, raw prices), XLSX by openpyxl, a brief's content types, presigned link via curl = botocore's SigV4, refused bucket clean — {endpoint}")


if __name__ == "__main__":
    main()
