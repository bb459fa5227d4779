"""Schemathesis hooks of scripts/api-fuzz.sh: the valid bearer token of the authenticated run.

Loaded through SCHEMATHESIS_HOOKS when API_FUZZ_USER is set. Every operation gets a token of that
user (a demo user, password `<name>-dev-password`) in `Authorization: Bearer`. The two logout
operations revoke the token they are given, so each of their cases gets a token of its own;
the others share one. The logins come from 127.0.0.2, so the failed logins the fuzzer sends from
127.0.0.1 cannot lock this client out (the server throttles per client address).
"""

import http.client
import json
import os

import schemathesis

USER = os.environ["API_FUZZ_USER"]
PORT = int(os.environ["API_FUZZ_PORT"])


def log_in() -> str:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30, source_address=("127.0.0.2", 0))
    try:
        body = json.dumps({"username": USER, "password": f"{USER}-dev-password"})
        conn.request("POST", "/auth/login", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"login as {USER}: {response.status} {data!r}")
        return json.loads(data)["access_token"]
    finally:
        conn.close()


class Bearer:
    def get(self, case, context):
        return log_in()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


LOGOUTS = r"^/auth/(logout|session)$"

# A 401 must stay a finding, not a reason to log in again: retry_on=[].
schemathesis.auth(refresh_interval=600, retry_on=[]).skip_for(path_regex=LOGOUTS)(
    type("SharedBearer", (Bearer,), {})
)
schemathesis.auth(refresh_interval=None).apply_to(path_regex=LOGOUTS)(
    type("FreshBearer", (Bearer,), {})
)
