"""`cmake --install build --component python` installs a package that imports and runs on its own."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MODEL


def test_the_installed_package_runs(tmp_path):
    build = os.environ.get("TURBINE_BUILD_DIR")
    if not build:
        pytest.skip("TURBINE_BUILD_DIR is not set (run through ctest)")
    # DESTDIR moves the install (into the user site by default) under a temporary root.
    subprocess.run(["cmake", "--install", build, "--component", "python"], check=True,
                   env={**os.environ, "DESTDIR": str(tmp_path)}, capture_output=True)
    packages = [p.parent for p in tmp_path.rglob("turbine/__init__.py")]
    assert len(packages) == 1, packages
    site = packages[0].parent
    names = {p.name for p in packages[0].iterdir()}
    assert {"__init__.py", "pipeline.py", "_turbine.pyi", "py.typed"} <= names
    assert any(n.startswith("_turbine.") and n.endswith(".so") for n in names)
    code = ("import turbine; p = turbine.pipeline(%r, device='cpu', threads=1, cpu_memory='256MiB'); "
            "print(turbine.__file__); print(p('In the beginning', temperature=0, max_new_tokens=4).generated_tokens)"
            % str(MODEL))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    where, tokens = out.stdout.split()
    assert where.startswith(str(site)) and tokens == "4"
