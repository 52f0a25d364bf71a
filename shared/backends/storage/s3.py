"""``s3://``: Amazon S3 through ``boto3``, the fallback; honours ``AWS_ENDPOINT_URL``. Credentials on
Google Cloud come from :mod:`shared.backends.storage.aws_credentials`. PUTs are atomic; streamed
writes and compose are multipart uploads that appear whole when completed."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from shared.backends.storage.base import (
    WRITE_CHUNK_BYTES,
    ObjectInfo,
    VendorStore,
    as_utc,
    buffered,
    compose_keys,
    folder_prefix,
    object_key,
)
from shared.errors import (
    DropscoreError,
    ObjectNotFoundError,
    PermanentError,
    ServiceUnavailableError,
    TransientError,
)
from shared.object_names import split_uri

# S3 multipart parts: at least 5 MiB each but the last. Sources this big are copied server side
# (UploadPartCopy); smaller ones are streamed through a buffer flushed in WRITE_CHUNK_BYTES parts.
S3_MIN_PART_BYTES = 5 * 1024 * 1024

HOW_TO_START_S3 = (
    "Start the local stack with `dropscore serve`, or set AWS_ENDPOINT_URL to the S3-compatible "
    "endpoint (unset it to use Amazon S3)."
)

# Error codes S3 returns for faults that may pass. ConditionalRequestConflict (409) means
# another conditional write to the key is in flight: retry, never guess who won.
_S3_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "ConditionalRequestConflict",
    }
)
_S3_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class _S3SeekableBody:
    """One S3 object version as a seekable stream.

    Reads pull from the streaming GET body. A seek drops the body; the next read asks for
    a byte range from the new offset, pinned to the ETag so that an overwrite in between
    fails the read instead of splicing two versions (GCS pins the generation the same way).
    """

    def __init__(self, client: Any, bucket: str, key: str, uri: str) -> None:
        self._client, self._bucket, self._key, self._uri = client, bucket, key, uri
        response = client.get_object(Bucket=bucket, Key=key)
        self._size = int(response["ContentLength"])
        self._etag = str(response["ETag"])
        self._body: Any = response["Body"]
        self._position = 0

    def read(self, size: int) -> bytes:
        from botocore.exceptions import ClientError

        if self._position >= self._size:
            return b""
        if self._body is None:
            try:
                response = self._client.get_object(
                    Bucket=self._bucket, Key=self._key, Range=f"bytes={self._position}-", IfMatch=self._etag
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                    raise ObjectNotFoundError(f"{self._uri} was replaced while being read") from exc
                raise
            self._body = response["Body"]
        chunk = bytes(self._body.read(size))
        self._position += len(chunk)
        return chunk

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        bases = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}
        if whence not in bases:
            raise ValueError(f"invalid whence: {whence}")
        target = bases[whence] + offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target != self._position:
            self.close()
            self._position = target
        return self._position

    def close(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


class _S3PartWriter(io.RawIOBase):
    """Bytes sent to S3 a part at a time (multipart upload): the object appears only when
    :meth:`complete` completes the upload; :meth:`abort` drops the parts. A body smaller than one
    part is a plain PUT."""

    def __init__(self, client: Any, bucket: str, key: str, content_type: str) -> None:
        self.client, self.bucket, self.key, self.content_type = client, bucket, key, content_type
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:  # writers such as Parquet's ask where they are
        return self._written

    def write(self, data: Any) -> int:
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) >= WRITE_CHUNK_BYTES:
            self._send(bytes(self._buffer[:WRITE_CHUNK_BYTES]))
            del self._buffer[:WRITE_CHUNK_BYTES]
        return len(data)

    def can_copy(self, size: int) -> bool:
        """Whether an object of ``size`` bytes can come next as a server-side copy: nothing is
        waiting in the buffer, and it is big enough to be a part that is not the last."""
        return not self._buffer and size >= S3_MIN_PART_BYTES

    def copy_part(self, source_key: str, size: int) -> None:
        """The whole object ``source_key`` (same bucket) as the next part, copied by S3 itself."""
        copied = self.client.upload_part_copy(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload(), PartNumber=len(self._parts) + 1,
            CopySource={"Bucket": self.bucket, "Key": source_key},
        )  # fmt: skip
        self._parts.append({"PartNumber": len(self._parts) + 1, "ETag": copied["CopyPartResult"]["ETag"]})
        self._written += size

    def _upload(self) -> str:
        if self._upload_id is None:
            started = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key, ContentType=self.content_type)
            self._upload_id = started["UploadId"]
        return self._upload_id

    def _send(self, part: bytes) -> None:
        number = len(self._parts) + 1
        sent = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self._upload(), PartNumber=number, Body=part)
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def complete(self) -> None:
        if self._upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self._buffer), ContentType=self.content_type)
        else:
            if self._buffer:
                self._send(bytes(self._buffer))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
        self._buffer = bytearray()

    def abort(self) -> None:
        if self._upload_id is not None:
            with contextlib.suppress(Exception):  # best effort: a lifecycle rule reaps what is left
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
        self._buffer = bytearray()


class S3ObjectStore(VendorStore):
    """Amazon S3 (or any S3-compatible endpoint named by AWS_ENDPOINT_URL). PUTs are atomic."""

    def __init__(self, client: Any = None, config: Any = None) -> None:
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        import shared.backends.storage.aws_credentials as aws_credentials

        if client is None:
            # A Session per store: boto3's default session is not safe to share while
            # threads build clients. boto3 reads AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 itself.
            config = config or Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10)
            try:
                # On Google Cloud with only AWS_ROLE_ARN set, the session trades the runtime's
                # Google ID token for the role's credentials (shared/backends/storage/aws_credentials.py).
                client = aws_credentials.aws_session().client("s3", config=config)
            except BotoCoreError as exc:
                raise PermanentError(f"Amazon S3 is not configured: {exc}") from exc
        self.client = client
        self.endpoint = str(client.meta.endpoint_url)

    def _translate(self, exc: Exception, uri: str) -> DropscoreError | None:
        from boto3.exceptions import S3UploadFailedError
        from botocore import exceptions as boto

        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, Exception):
            return self._translate(exc.__context__, uri)  # the transfer manager hides the ClientError
        if isinstance(exc, boto.ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in _S3_NOT_FOUND_CODES:
                return ObjectNotFoundError(f"No object at {uri}")
            if code in _S3_TRANSIENT_CODES or status >= 500:
                return TransientError(f"Amazon S3 fault on {uri}: {exc}")
            return PermanentError(f"Amazon S3 refused the request on {uri}: {exc}")
        if isinstance(exc, boto.EndpointConnectionError):
            return ServiceUnavailableError(
                service="Amazon S3", location=self.endpoint, how_to_start=HOW_TO_START_S3, detail=str(exc)
            )
        if isinstance(exc, boto.ConnectionError | boto.HTTPClientError | boto.IncompleteReadError):
            return TransientError(f"Amazon S3 did not answer for {uri}: {exc}")
        if isinstance(exc, boto.BotoCoreError):
            # No credentials, no region, invalid parameters: configuration.
            return PermanentError(f"Amazon S3 is not configured for {uri}: {exc}")
        return None

    def read_bytes(self, uri: str) -> bytes:
        bucket, key = object_key(uri, "s3")
        with self._errors(uri):
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                return cast(bytes, body.read())
            finally:
                body.close()

    def open_read(self, uri: str) -> BinaryIO:
        bucket, key = object_key(uri, "s3")
        with self._errors(uri):
            body = _S3SeekableBody(self.client, bucket, key, uri)
        return buffered(body, lambda exc: self._translate(exc, uri))

    def write_bytes(self, uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        bucket, key = object_key(uri, "s3")
        with self._errors(uri):
            self.client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)

    def upload_file(self, uri: str, local_path: Path, content_type: str = "application/octet-stream") -> None:
        bucket, key = object_key(uri, "s3")
        with self._errors(uri):
            # Large files go multipart; the object still appears only when the upload completes.
            self.client.upload_file(str(local_path), bucket, key, ExtraArgs={"ContentType": content_type})

    @contextmanager
    def open_write(self, uri: str, content_type: str = "application/octet-stream") -> Iterator[BinaryIO]:
        bucket, key = object_key(uri, "s3")
        writer = _S3PartWriter(self.client, bucket, key, content_type)
        with self._errors(uri):
            try:
                yield cast(BinaryIO, writer)
                writer.complete()
            except BaseException:
                writer.abort()
                raise

    def create_if_absent(self, uri: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        bucket, key = object_key(uri, "s3")
        with self._errors(uri):
            try:
                # S3 conditional write: stored only if no object has this key, else 412.
                self.client.put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                    return False
                raise
            return True

    def exists(self, uri: str) -> bool:
        try:
            self.stat(uri)
        except ObjectNotFoundError:
            return False
        return True

    def stat(self, uri: str) -> ObjectInfo:
        bucket, key = object_key(uri, "s3")
        with self._errors(uri):
            head = self.client.head_object(Bucket=bucket, Key=key)
        return ObjectInfo(
            uri=f"s3://{bucket}/{key}",
            size=int(head["ContentLength"]),
            # The ETag, not the VersionId: listings carry only the ETag, and stat() and
            # list() must agree on an object's generation.
            generation=str(head["ETag"]).strip('"'),
            updated=as_utc(head["LastModified"]),
        )

    def list(self, prefix_uri: str) -> list[ObjectInfo]:
        scheme, bucket, key = split_uri(prefix_uri)
        if scheme != "s3":
            raise PermanentError(f"{prefix_uri!r} is not an s3:// URI.")
        found: list[ObjectInfo] = []
        with self._errors(prefix_uri):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=folder_prefix(key)
            )
            for page in pages:
                for item in page.get("Contents", []):
                    if item["Key"].endswith("/"):
                        continue  # console "folder" placeholder, not data
                    found.append(
                        ObjectInfo(
                            uri=f"s3://{bucket}/{item['Key']}",
                            size=int(item["Size"]),
                            generation=str(item["ETag"]).strip('"'),
                            updated=as_utc(item["LastModified"]),
                        )
                    )
        return sorted(found, key=lambda info: info.uri)

    def delete(self, uri: str) -> None:
        bucket, key = object_key(uri, "s3")
        with self._errors(uri):
            self.client.delete_object(Bucket=bucket, Key=key)  # S3 answers 204 for a missing key too

    def sweep_temp(self, folder_uri: str, older_than_seconds: float) -> list[str]:
        # Nothing to sweep: an unfinished write is a multipart upload, not an object, and the bucket's
        # lifecycle rule aborts those (infra/); compose never makes intermediates here.
        return []

    def compose(self, target_uri: str, source_uris: list[str], content_type: str = "application/octet-stream") -> ObjectInfo:
        """A multipart upload (:class:`_S3PartWriter`): sources of 5 MiB or more are copied server
        side (UploadPartCopy), smaller ones are read through its buffer and uploaded in 8 MiB parts;
        the object appears whole when the upload completes, and an upload that fails is aborted."""
        bucket, target_key, keys = compose_keys(target_uri, source_uris, "s3")
        sources = list(zip(source_uris, keys, strict=True))
        writer = _S3PartWriter(self.client, bucket, target_key, content_type)
        try:
            for uri, key in sources:
                with self._errors(uri):
                    size = int(self.client.head_object(Bucket=bucket, Key=key)["ContentLength"])
                    if writer.can_copy(size):
                        writer.copy_part(key, size)
                        continue
                    body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
                    try:
                        while chunk := body.read(1024 * 1024):
                            writer.write(chunk)
                    finally:
                        body.close()
            with self._errors(target_uri):
                writer.complete()
        except BaseException:
            writer.abort()  # the original error is the one to report; S3 expires stale uploads by lifecycle rule
            raise
        return self.stat(target_uri)
