"""AWS credentials for code running on Google Cloud: a Google ID token traded at STS for a role.

With ``storage_backend = "s3"`` the functions and the retrain job get only ``AWS_ROLE_ARN`` and
``AWS_DEFAULT_REGION`` (infra/main.tf): no AWS keys exist anywhere. boto3's own web-identity
provider needs the token in a file (``AWS_WEB_IDENTITY_TOKEN_FILE``) that nothing on Cloud Run
writes, so without this module boto3 finds no credentials at all.

Here the token comes from the metadata server of the runtime (Cloud Run functions and jobs):
``GET http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/
identity?audience=<AWS_ROLE_ARN>`` with ``Metadata-Flavor: Google`` returns a Google-signed ID
token of the service account, and STS ``AssumeRoleWithWebIdentity`` trades it for temporary
credentials of the role. The role's trust policy (infra/s3.tf) accepts only tokens whose ``sub``
and ``azp`` are the functions' service accounts and whose ``aud`` is the role's ARN. botocore's
``RefreshableCredentials`` calls :func:`_assume_role` again shortly before the credentials
expire, so a long retrain keeps working.

The metadata host honours ``GCE_METADATA_HOST``, as google-auth does (tests point it at a
loopback server); STS honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_STS``, as boto3 does.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.errors import AwsWebIdentityError, PermanentError

METADATA_HOST_VARIABLE = "GCE_METADATA_HOST"
DEFAULT_METADATA_HOST = "metadata.google.internal"
IDENTITY_PATH = "/computeMetadata/v1/instance/service-accounts/default/identity"
METADATA_TIMEOUT_SECONDS = 5.0
SESSION_SECONDS = 3600  # the role's max_session_duration (infra/s3.tf)

# Any of these means the caller chose credentials themselves; web identity only fills the gap.
EXPLICIT_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def uses_google_web_identity(environ: Mapping[str, str] | None = None) -> bool:
    """AWS_ROLE_ARN is set and nothing else says which AWS credentials to use."""
    environ = os.environ if environ is None else environ
    if not environ.get("AWS_ROLE_ARN"):
        return False
    if any(environ.get(name) for name in EXPLICIT_CREDENTIAL_VARIABLES):
        return False
    shared_file = environ.get("AWS_SHARED_CREDENTIALS_FILE") or str(Path("~/.aws/credentials").expanduser())
    return not Path(shared_file).is_file()


def fetch_google_id_token(audience: str, environ: Mapping[str, str] | None = None) -> str:
    """A Google-signed ID token of the runtime's service account for ``audience``."""
    import requests

    environ = os.environ if environ is None else environ
    host = environ.get(METADATA_HOST_VARIABLE) or DEFAULT_METADATA_HOST
    url = f"http://{host}{IDENTITY_PATH}"
    try:
        response = requests.get(
            url, params={"audience": audience}, headers={"Metadata-Flavor": "Google"}, timeout=METADATA_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise AwsWebIdentityError(f"the metadata server at {host} did not answer for an ID token: {exc}") from exc
    if response.status_code != 200 or not response.text.strip():
        raise AwsWebIdentityError(f"the metadata server refused an ID token ({response.status_code}): {response.text[:200]}")
    return response.text.strip()


def session_name(environ: Mapping[str, str] | None = None) -> str:
    """RoleSessionName shown in CloudTrail: the Cloud Run service or job, else the host."""
    environ = os.environ if environ is None else environ
    origin = environ.get("K_SERVICE") or environ.get("CLOUD_RUN_JOB") or socket.gethostname()
    return ("dropscore-" + re.sub(r"[^\w+=,.@-]", "-", origin))[:64]


def _assume_role(role_arn: str, environ: Mapping[str, str]) -> dict[str, str]:
    """One STS AssumeRoleWithWebIdentity call, in botocore's refresh-metadata shape."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    token = fetch_google_id_token(role_arn, environ)
    region = environ.get("AWS_DEFAULT_REGION") or environ.get("AWS_REGION") or "us-east-1"
    # The call is authenticated by the token itself: unsigned, so no other credentials are looked for.
    sts = boto3.session.Session().client("sts", region_name=region, config=Config(signature_version=UNSIGNED))
    try:
        answer = sts.assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName=session_name(environ), WebIdentityToken=token, DurationSeconds=SESSION_SECONDS
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("AccessDenied", "InvalidIdentityToken", "ValidationError", "MalformedPolicyDocument"):
            # The trust policy refuses this service account or audience: a deployment fault.
            raise PermanentError(f"AWS refused role {role_arn} to this service account ({code}): {exc}") from exc
        raise AwsWebIdentityError(f"STS AssumeRoleWithWebIdentity failed: {exc}") from exc
    except BotoCoreError as exc:
        raise AwsWebIdentityError(f"STS AssumeRoleWithWebIdentity failed: {exc}") from exc
    credentials = answer["Credentials"]
    return {
        "access_key": credentials["AccessKeyId"],
        "secret_key": credentials["SecretAccessKey"],
        "token": credentials["SessionToken"],
        "expiry_time": credentials["Expiration"].isoformat(),
    }


def web_identity_credentials(role_arn: str, environ: Mapping[str, str] | None = None) -> Any:
    """botocore RefreshableCredentials for ``role_arn``, renewed from a fresh Google ID token."""
    from botocore.credentials import RefreshableCredentials

    environ = dict(os.environ if environ is None else environ)
    return RefreshableCredentials.create_from_metadata(
        metadata=_assume_role(role_arn, environ),
        refresh_using=lambda: _assume_role(role_arn, environ),
        method="google-web-identity",
    )


def aws_session(environ: Mapping[str, str] | None = None) -> Any:
    """A boto3 Session: Google web identity when that is how this runtime reaches AWS, else boto3's chain."""
    import boto3
    import botocore.session

    environ = os.environ if environ is None else environ
    if not uses_google_web_identity(environ):
        return boto3.session.Session()
    from botocore.credentials import CredentialProvider, CredentialResolver

    role_arn, frozen_environ = environ["AWS_ROLE_ARN"], dict(environ)

    class GoogleWebIdentityProvider(CredentialProvider):
        METHOD = "google-web-identity"

        def load(self) -> Any:
            return web_identity_credentials(role_arn, frozen_environ)

    # The session's credential chain is this provider alone (the component aws-cli replaces the
    # same way): nothing else applies here, and the EC2 metadata lookup at the end of boto3's
    # default chain would only time out against Google's metadata server.
    core = botocore.session.get_session()
    core.register_component("credential_provider", CredentialResolver(providers=[GoogleWebIdentityProvider()]))
    return boto3.session.Session(botocore_session=core)
