"""Extract aws-lambda-rie for one architecture from an aws-sam-cli wheel.

usage: extract-rie.py WHEEL ARCH DEST   (ARCH: x86_64 | amd64 | arm64 | aarch64)
Standard library only: runs in the image build as well as on a developer machine.
"""

import os
import shutil
import sys
import zipfile

ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    wheel, arch, dest = argv
    member = f"samcli/local/rapid/aws-lambda-rie-{ARCHES[arch]}"
    tmp = f"{dest}.part"
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out)
    os.chmod(tmp, 0o755)  # noqa: S103 - an executable for every user
    os.replace(tmp, dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
