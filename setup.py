"""pip install --no-build-isolation .  — builds the Python module cldyn with CMake.

The extensions cldyn._cldyn and cldyn._checks (every check, for cldyn.checks) are the CMake
targets _cldyn and _checks (python/CMakeLists.txt), built in
build-python/ with the interpreter that runs pip; the package's Python files come from
python/cldyn. No package registry is needed: setuptools, pybind11, Eigen and the other C++
dependencies come from Debian (scripts/setup). docs/python.md has the details.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).parent.resolve()
VERSION = re.search(r"project\(cldyn VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text()).group(1)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(os.environ.get("CLDYN_PIP_BUILD_DIR", ROOT / "build-python"))
        configure = ["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                     f"-DPython3_EXECUTABLE={sys.executable}", "-DCLDYN_BUILD_PYTHON=ON",
                     "-DCLDYN_BUILD_TESTS=OFF", "-DCLDYN_BUILD_EXPERIMENTS=ON",
                     "-DCLDYN_BUILD_BENCH=OFF"]
        subprocess.run(configure, check=True)
        module = ext.name.split(".")[-1]
        subprocess.run(["cmake", "--build", str(build), "--target", module, "-j",
                        str(os.cpu_count() or 2)], check=True)
        built = next((build / "python" / "cldyn").glob(module + "*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


setup(
    name="cldyn",
    version=VERSION,
    description="Training dynamics of contrastive learning (Tian, ICLR 2023): theory and checks",
    packages=["cldyn"],
    package_dir={"cldyn": "python/cldyn"},
    package_data={"cldyn": ["py.typed", "*.pyi"]},
    ext_modules=[CMakeExtension("cldyn._cldyn"), CMakeExtension("cldyn._checks")],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    zip_safe=False,
)
