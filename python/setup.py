"""Build hook: bundle the built Swift library and the environment specs into the package.

`pip install ./python` (after `swift build -c release --product MicroscopeGymC` in the repository root) copies
`.build/release/libMicroscopeGymC.so` (or the library `MICROSCOPEGYM_BUNDLE_LIBRARY` names: scripts/build-wheel.sh
passes its static-runtime build) and `Environments/` into `microscope_gym/_bundle/`, so the installed package works
from any folder. Without a built library it installs anyway and finds one at import time through
`MICROSCOPEGYM_LIBRARY` or a repository checkout (see README.md). The wheel is tagged py3-none-<platform>: it holds a
native library (loaded by ctypes, so no Python ABI), which `auditwheel repair` can make self-contained.
"""
import os
import shutil
import tempfile
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIBRARY = Path(os.environ.get("MICROSCOPEGYM_BUNDLE_LIBRARY") or ROOT / ".build" / "release" / "libMicroscopeGymC.so")

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel


class NativeDistribution(Distribution):
    """The package carries a native library: its files go to platlib (as auditwheel requires), not purelib."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """A platform wheel (it carries a native library) that any Python 3 can use (ctypes, no extension module)."""

    def get_tag(self):
        return "py3", "none", super().get_tag()[2]


class BundleBuild(build_py):
    """Copies the library and the specs into the built package (never into the source tree)."""

    def run(self):
        super().run()
        bundle = Path(self.build_lib) / "microscope_gym" / "_bundle"
        if bundle.exists():
            shutil.rmtree(bundle)
        if LIBRARY.exists() and (ROOT / "Environments").is_dir():
            (bundle / "Environments" / "models").mkdir(parents=True)
            shutil.copy2(LIBRARY, bundle / "libMicroscopeGymC.so")
            for spec in (ROOT / "Environments").glob("*.json"):
                shutil.copy2(spec, bundle / "Environments" / spec.name)
            models = ROOT / "Environments" / "models"
            # The LEONARDO models and the fill prior (fill_lost_frames=True reads it).
            for model in [*models.glob("leonardo-*.h5"), *models.glob("fill-*.json")]:
                shutil.copy2(model, bundle / "Environments" / "models" / model.name)
            print(f"microscope_gym: bundled {LIBRARY} and {ROOT / 'Environments'}")
        else:
            print(f"microscope_gym: {LIBRARY} not built; the package will look for the library at import time")


# Build products (build/, *.egg-info) go to a temporary folder, never into the checkout: `pip install ./python`
# leaves the source tree as it was, and works on a read-only checkout.
SCRATCH = tempfile.mkdtemp(prefix="microscope-gym-build-")
setup(
    cmdclass={"build_py": BundleBuild, "bdist_wheel": PlatformWheel},
    distclass=NativeDistribution,
    options={"build": {"build_base": SCRATCH}, "egg_info": {"egg_base": SCRATCH}},
)
