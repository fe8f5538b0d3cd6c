"""The web chat UI in headless Chromium (webui_browser.mjs with puppeteer-core, pinned in package-lock.json):
a streamed reply, Stop, New chat, a screenshot next to the turbine binary, the API key field against a
--api-keys server; then no KV block is left active. Skipped when chromium, node or
tests/server/node_modules/puppeteer-core is missing."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from server_harness import BIN, Server

HERE = Path(__file__).resolve().parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None or shutil.which("node") is None
                    or not (HERE / "node_modules" / "puppeteer-core").is_dir(),
                    reason="chromium, node or tests/server/node_modules/puppeteer-core missing")
def test_webui_in_headless_chromium():
    server = Server("--served-model-name", "kjv")
    keyed = None
    try:
        keyed = Server("--api-keys", "webui-secret")
        screenshot = Path(BIN).resolve().parent / "webui.png"
        env = {**os.environ, "TURBINE_URL": f"http://127.0.0.1:{server.port}/", "CHROMIUM": CHROMIUM,
               "TURBINE_KEYED_URL": f"http://127.0.0.1:{keyed.port}/", "TURBINE_API_KEY": "webui-secret",
               "SCREENSHOT": str(screenshot)}
        result = subprocess.run(["node", str(HERE / "webui_browser.mjs")], cwd=HERE, env=env, capture_output=True,
                                text=True, timeout=300)
        print(result.stdout)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("ok - ") >= 8
        assert screenshot.stat().st_size > 0
        server.wait_no_active_blocks()
    finally:
        keyed_status = keyed.stop() if keyed else 0
        assert server.stop() == 0 and keyed_status == 0
