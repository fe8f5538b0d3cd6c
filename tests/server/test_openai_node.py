"""The official `openai` npm client (pinned in package-lock.json, installed by scripts/setup.sh) against
turbine serve; skipped when node or the installed package is missing."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from server_harness import SHARED, Server

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(shutil.which("node") is None or not (HERE / "node_modules" / "openai").is_dir(),
                    reason="node or tests/server/node_modules/openai missing (run scripts/setup.sh)")
def test_openai_node_client():
    server = Server("--served-model-name", "kjv", "--tool-call-parser", "llama3")
    try:
        env = {**os.environ, "TURBINE_URL": f"http://127.0.0.1:{server.port}", "TURBINE_SHARED": str(SHARED)}
        result = subprocess.run(["node", str(HERE / "openai_client.mjs")], cwd=HERE, env=env, capture_output=True,
                                text=True, timeout=300)
        print(result.stdout)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("ok - ") == 8
    finally:
        assert server.stop() == 0
