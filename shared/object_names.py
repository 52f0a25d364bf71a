"""What an object key may be, and how a key becomes a local path that stays inside its bucket.

A key arrives from outside (a storage event names the object a user dropped) and is joined
onto an area's root to name the object and every output derived from it. Two things must
hold on every backend:

- **No key leaves its area.** On the embedded store a key is a path below a folder; a name
  such as ``%2e%2e%2f%2e%2e%2fX.csv`` (``../../X.csv`` once percent-decoded) or one reaching a
  symlink that points elsewhere must never write outside it. On GCS and S3 ``..`` is just two
  dots in a flat name, but our derived keys must still never climb out of their area's prefix
  for whoever mirrors the bucket to disk. So a key is refused when any spelling of it climbs:
  as written, percent-decoded (repeatedly: ``%252e`` is ``%2e`` is ``.``), with backslashes read
  as separators (Windows), and after Unicode compatibility folding (``．．／`` is ``../`` under
  NFKC). Refused, not repaired: a name that needs repairing was made to attack.
- **Every key can be stored.** Cloud Storage object names are 1–1,024 bytes of UTF-8, without
  carriage return or line feed, never ``.`` or ``..``, never under ``.well-known/acme-challenge/``
  (https://cloud.google.com/storage/docs/objects#naming, "Object naming requirements"); S3 keys
  are at most 1,024 bytes of UTF-8 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html);
  a local folder holds names of at most 255 bytes per path component (ext4, APFS, NTFS's 255
  UTF-16 units are more). A key that breaks a limit is a permanent problem with the file's name,
  reported to the user, never a "storage error" retried for a day.

Both checks raise :class:`ObjectNameError`, a :class:`~shared.errors.BadInputError`: permanent,
with a message in Spanish and English.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import quote, unquote

from shared.errors import ObjectNameError, PermanentError
from shared.i18n import both

MAX_KEY_BYTES = 1024            # GCS and S3, UTF-8
MAX_LOCAL_COMPONENT_BYTES = 255  # one folder or file name on a local filesystem
# Where the local store writes a file while it is incomplete (shared.backends.storage.local); such names are ours.
TEMP_PREFIX = ".tmp-"
# Characters no object name of ours may hold: C0 controls (NUL, CR, LF...), DEL and the C1 controls
# (XML 1.0 cannot list names holding the C1 ones, Cloud Storage's documentation warns).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_RESERVED_GCS_PREFIX = ".well-known/acme-challenge/"
# Percent-decoding more times than this and still changing is an attack, not a name.
_MAX_DECODING_ROUNDS = 8


def _refuse(code: str, name: str, sentence: str, **values: object) -> ObjectNameError:
    """``code`` is the error's stable code; ``sentence`` the catalogue's (shared/i18n/platform.py)."""
    return ObjectNameError(code, *both(sentence, name=printable(name), **values))


def printable(name: str, limit: int = 120) -> str:
    """The name as a person can read it in a report: controls escaped, long names cut."""
    text = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", name.encode("utf-8", "backslashreplace").decode("utf-8"))
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-limit // 2 :]}"


def spellings(key: str) -> list[str]:
    """Every way some layer could read ``key``: as written, percent-decoded until it stops
    changing, each also Unicode-compatibility folded (NFKC) — with backslashes as separators."""
    found = [key]
    current = key
    for _ in range(_MAX_DECODING_ROUNDS):
        decoded = unquote(current, errors="surrogateescape")
        if decoded == current:
            break
        found.append(decoded)
        current = decoded
    else:
        found.append(unquote(current, errors="surrogateescape"))
    found += [unicodedata.normalize("NFKC", text) for text in list(found)]
    return [text.replace("\\", "/") for text in dict.fromkeys(found)]


def climbs(key: str) -> bool:
    """Whether some spelling of ``key`` is absolute or steps up a folder (``..``) or stays put (``.``)."""
    for text in spellings(key):
        if text.startswith("/") or re.match(r"^[A-Za-z]:", text):  # POSIX root or a Windows drive
            return True
        if any(part in (".", "..") for part in text.split("/")):
            return True
    return False


def check_key(key: str, *, local: bool) -> str:
    """``key`` if an object may bear it on this backend (``local``: the embedded folder store); else
    :class:`ObjectNameError`. The same rules on every backend but the local folder's name length."""
    if not key:
        raise _refuse("unsafe_name", key, "name_empty")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse("unsafe_name", key, "name_not_unicode") from None
    if _CONTROL.search(key) or any(_CONTROL.search(text) for text in spellings(key)):
        raise _refuse("unsafe_name", key, "name_control_characters")
    if climbs(key) or "//" in key or key.endswith("/") or key.startswith(_RESERVED_GCS_PREFIX):
        raise _refuse("unsafe_name", key, "name_leaves_folder")
    if any(part.startswith(TEMP_PREFIX) for part in key.split("/")):
        raise _refuse("unsafe_name", key, "name_reserved_prefix", prefix=TEMP_PREFIX)
    if len(encoded) > MAX_KEY_BYTES:
        raise name_too_long(key, f"{len(encoded)} bytes > {MAX_KEY_BYTES}")
    if local:
        longest = max(key.split("/"), key=lambda part: len(part.encode("utf-8")))
        if len(longest.encode("utf-8")) > MAX_LOCAL_COMPONENT_BYTES:
            raise name_too_long(key, f"{len(longest.encode('utf-8'))} bytes > {MAX_LOCAL_COMPONENT_BYTES} in one folder name")
    return key


def name_too_long(key: str, detail: str) -> ObjectNameError:
    return _refuse("name_too_long", key, "name_too_long", detail=detail)


def check_component(name: str, *, local: bool) -> str:
    """A bucket (or area folder) named by an event: one safe path component."""
    check_key(name, local=local)
    if "/" in name:
        raise _refuse("unsafe_name", name, "folder_name_invalid")
    return name


def encode_for_uri(key: str) -> str:
    """The key as the path of a ``file://`` URI: every byte but unreserved characters and ``/`` escaped,
    so :func:`split_uri`'s one decoding gives the key back exactly (``%2e`` stays ``%2e``)."""
    return quote(key, safe="/")


def local_path(root: Path | str, key: str) -> Path:
    """The file of ``key`` below the folder ``root``: the one way a key becomes a local path.

    Refuses (:class:`ObjectNameError`) a key that is unsafe (:func:`check_key`) and one whose path,
    symlinks resolved, is not inside ``root`` (a folder inside the bucket that links elsewhere).
    """
    check_key(key, local=True)
    base = Path(root)
    candidate = base.joinpath(*key.split("/"))
    real_root = os.path.realpath(base)
    real = os.path.realpath(candidate)
    if os.path.commonpath([real_root, real]) != real_root:
        raise _refuse("unsafe_name", key, "name_links_outside")
    return candidate


# --------------------------------------------------------------------------- storage URIs

SUPPORTED_SCHEMES = ("file", "gs", "s3")


def split_uri(uri: str) -> tuple[str, str, str]:
    """Split a storage URI into ``(scheme, bucket, key)``.

    For ``file://`` URIs and plain absolute paths the bucket is ``""`` and the key is the
    absolute path (percent-escapes decoded, as ``Path.as_uri()`` writes them). Keys of
    ``gs://`` and ``s3://`` URIs are taken verbatim: object names may hold ``#`` or ``?``.
    Pure text work: settings and the storage backends both use it, neither needs the other.
    """
    uri = os.fspath(uri)
    if "://" not in uri:
        if os.path.isabs(uri):
            return "file", "", _local_path_of(uri, uri)
        raise PermanentError(
            f"Not a storage URI: {uri!r}. Use file:///absolute/path, gs://bucket/key or s3://bucket/key."
        )
    scheme, _, rest = uri.partition("://")
    scheme = scheme.lower()
    if scheme == "file":
        host, slash, path = rest.partition("/")
        if host not in ("", "localhost") or not slash:
            raise PermanentError(f"Not a local file URI: {uri!r}. Use file:///absolute/path.")
        return "file", "", _local_path_of("/" + unquote(path), uri)
    if scheme not in SUPPORTED_SCHEMES:
        raise PermanentError(
            f"Unsupported storage scheme {scheme!r} in {uri!r}: use file://, gs:// or s3://."
        )
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise PermanentError(f"Storage URI {uri!r} names no bucket.")
    return scheme, bucket, key


def _local_path_of(path: str, uri: str) -> str:
    """The decoded path of a file URI, refused when it steps up (``..``) or holds NUL: a path is never
    "normalised" into another file. Keys become URIs through ``Settings.object_uri``, which escapes
    them (:func:`encode_for_uri`); this is the second line, for URIs built any other way."""
    if "\x00" in path or any(part in (".", "..") for part in path.split("/")):
        raise _refuse("unsafe_name", uri, "path_leaves_folder")
    return os.path.normpath(path)


def short_key(name: str, *, keep_chars: int = 40) -> str:
    """A short, safe stand-in for a name that cannot be stored or that climbs: a readable, sanitized
    excerpt and a hash of the exact name (so two refused names never share a report)."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    leaf = name.replace("\\", "/").rsplit("/", 1)[-1]
    readable = re.sub(r"[^0-9A-Za-z._-]+", "_", unicodedata.normalize("NFKD", leaf).encode("ascii", "ignore").decode("ascii"))
    readable = readable.strip("._")[:keep_chars] or "file"
    return f"{readable}-{digest}"


__all__ = [
    "MAX_KEY_BYTES",
    "MAX_LOCAL_COMPONENT_BYTES",
    "SUPPORTED_SCHEMES",
    "TEMP_PREFIX",
    "ObjectNameError",
    "check_component",
    "check_key",
    "climbs",
    "encode_for_uri",
    "local_path",
    "name_too_long",
    "printable",
    "short_key",
    "spellings",
    "split_uri",
]
