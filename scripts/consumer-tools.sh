# shellcheck shell=bash
# Installs the real consumers of the report formats that the ignored tests in
# tests/consumers/ run, and exports the variables that name them to the tests (one
# already set is kept, and its tool not installed):
#   ECMGUARD_CHROMIUM         Chromium (Debian's `chromium`, apt-get as root when missing)
#   ECMGUARD_SARIF_MULTITOOL  the official SARIF validator, Sarif.Multitool from npm
#                             (@microsoft/sarif-multitool-linux, the Linux build of
#                             @microsoft/sarif-multitool, at an exact version)
#   ECMGUARD_PYTHON           a Python virtual environment with junitparser from PyPI
# npm and PyPI installs go to ${CARGO_TARGET_DIR:-target}/ci-tools, and are kept: a
# later run finds them there and installs nothing.
#
# Sourced, not run (it exports into the caller's shell): by .ci/run, and by
# scripts/check-reports.sh, which then runs the tests by hand. Needs npm and python3;
# for Chromium, if missing, apt-get as root. The checks themselves are the tests.

consumer_tools() {
  local version=5.7.0
  local root tools multitool
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  tools="${CARGO_TARGET_DIR:-$root/target}/ci-tools"
  case "$tools" in /*) ;; *) tools="$root/$tools" ;; esac
  mkdir -p "$tools"

  # Chromium: from Debian, unless ECMGUARD_CHROMIUM names one already.
  if [ -z "${ECMGUARD_CHROMIUM:-}" ]; then
    if ! command -v chromium > /dev/null; then
      if [ "$(id -u)" -ne 0 ]; then
        echo "chromium is not installed and this is not root: apt-get install chromium first" >&2
        return 1
      fi
      echo "consumer tools: installing chromium (apt-get)" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
    fi
    ECMGUARD_CHROMIUM="$(command -v chromium)"
  fi

  # The SARIF validator: a self-contained .NET program in an npm package.
  if [ -z "${ECMGUARD_SARIF_MULTITOOL:-}" ]; then
    multitool="$tools/sarif-multitool-$version/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
    if [ ! -f "$multitool" ]; then
      if ! command -v npm > /dev/null; then
        echo "npm is needed to install the SARIF validator (@microsoft/sarif-multitool)" >&2
        return 1
      fi
      echo "consumer tools: installing @microsoft/sarif-multitool-linux@$version (npm)" >&2
      npm install --prefix "$tools/sarif-multitool-$version" --no-audit --no-fund --no-save \
        --loglevel=error "@microsoft/sarif-multitool-linux@$version" > /dev/null
    fi
    # npm does not keep the execute bit of the packaged .NET binary everywhere.
    chmod +x "$multitool"
    ECMGUARD_SARIF_MULTITOOL="$multitool"
  fi

  # junitparser, in a virtual environment of its own.
  if [ -z "${ECMGUARD_PYTHON:-}" ]; then
    if ! "$tools/venv/bin/python" -c "import junitparser" 2> /dev/null; then
      echo "consumer tools: installing junitparser (PyPI) in $tools/venv" >&2
      rm -rf "$tools/venv"
      python3 -m venv "$tools/venv"
      "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "junitparser>=3,<6"
    fi
    ECMGUARD_PYTHON="$tools/venv/bin/python"
  fi

  export ECMGUARD_CHROMIUM ECMGUARD_SARIF_MULTITOOL ECMGUARD_PYTHON
  # Without ICU, a self-contained .NET program must run in invariant mode (the tests
  # set it on the validator too).
  export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
  echo "consumer tools: ECMGUARD_CHROMIUM=$ECMGUARD_CHROMIUM" >&2
  echo "consumer tools: ECMGUARD_SARIF_MULTITOOL=$ECMGUARD_SARIF_MULTITOOL" >&2
  echo "consumer tools: ECMGUARD_PYTHON=$ECMGUARD_PYTHON" >&2
}

consumer_tools
unset -f consumer_tools
