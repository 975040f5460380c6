"""The Vultr stand-in, checked with Vultr's official Node.js client, @vultr/vultr-node (Vultr
publishes no official Python client). ``node/vultr.js`` drives the client; this test runs it."""

import json
import os
import shutil
import subprocess

import pytest

KEY = "VULTRSTANDINKEY0123456789ABCDEFGHIJ"
NODE_DIR = os.path.join(os.path.dirname(__file__), "..", "node")


def run_client(*args: str) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; run scripts/deps.sh")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@vultr", "vultr-node")):
        pytest.fail("tests/standins/node/node_modules is missing; run scripts/deps.sh")
    return subprocess.run([node, "vultr.js", *args], cwd=NODE_DIR, capture_output=True,
                          text=True, timeout=60)


def test_vultr_node_creates_lists_and_deletes_a_txt_record(standin, label):
    server = standin("vultr", token=KEY)
    done = run_client(f"{server.origin}/v2", KEY, label)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["created"]["name"] == f"_acme-challenge.{label}"
    assert seen["created"]["data"] == '"value-one"'
    assert seen["unauthorized"] == "Unauthorized: Invalid API token."
    assert seen["not_found"].startswith("Not Found")
    assert server.store.find(name=f"_acme-challenge.{label}.example.test") == []
    methods = {(r["method"], r["path"]) for r in server.requests}
    assert ("POST", "/v2/domains/example.test/records") in methods
    assert ("DELETE", f"/v2/domains/example.test/records/{seen['created']['id']}") in methods
