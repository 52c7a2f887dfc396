"""Build hook: bundle the built Swift library and the environment specs into the package.

`pip install ./python` (after `swift build -c release --product MicroscopeGymC` in the repository root) copies
`.build/release/libMicroscopeGymC.so` and `Environments/` into `microscope_gym/_bundle/`, so the installed
package works from any folder. Without a built library it installs anyway and finds one at import time through
`MICROSCOPEGYM_LIBRARY` or a repository checkout (see README.md).
"""
import shutil
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIBRARY = ROOT / ".build" / "release" / "libMicroscopeGymC.so"


class BundleBuild(build_py):
    """Copies the library and the specs into the built package (never into the source tree)."""

    def run(self):
        super().run()
        bundle = Path(self.build_lib) / "microscope_gym" / "_bundle"
        if bundle.exists():
            shutil.rmtree(bundle)
        if LIBRARY.exists() and (ROOT / "Environments").is_dir():
            (bundle / "Environments" / "models").mkdir(parents=True)
            shutil.copy2(LIBRARY, bundle / LIBRARY.name)
            for spec in (ROOT / "Environments").glob("*.json"):
                shutil.copy2(spec, bundle / "Environments" / spec.name)
            for model in (ROOT / "Environments" / "models").glob("leonardo-*.h5"):
                shutil.copy2(model, bundle / "Environments" / "models" / model.name)
            print(f"microscope_gym: bundled {LIBRARY} and {ROOT / 'Environments'}")
        else:
            print(f"microscope_gym: {LIBRARY} not built; the package will look for the library at import time")


# Build products (build/, *.egg-info) go to a temporary folder, never into the checkout: `pip install ./python`
# leaves the source tree as it was, and works on a read-only checkout.
SCRATCH = tempfile.mkdtemp(prefix="microscope-gym-build-")
setup(
    cmdclass={"build_py": BundleBuild},
    options={"build": {"build_base": SCRATCH}, "egg_info": {"egg_base": SCRATCH}},
)
