#!/usr/bin/env bash
# Install everything voicecoach needs on Debian or Ubuntu: system packages
# (speech engine, audio libraries, PulseAudio for the device tests) and the
# Python package with its test extras in ./.venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(
  python3 python3-venv python3-dev gcc    # the virtualenv, and PyAudio's C build
  espeak-ng libespeak-ng1                  # pyttsx3's speech engine on Linux
  portaudio19-dev                          # PyAudio's audio I/O library
  pulseaudio pulseaudio-utils              # virtual speaker and microphone for tests
  libasound2-plugins alsa-utils            # ALSA's route to PulseAudio for PortAudio
  libspeexdsp1                             # the echo canceller (the coach must not hear itself)
  sox                                      # audio checks in scripts
  pocketsphinx-testdata                    # real recorded speech for recogniser tests
)

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
# The tests, benchmarks and lab share devkit/ (and lab/'s modules), which the package does
# not ship: this checkout goes on the venv's path so they import it like any module.
SITE=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$PWD" > "$SITE/voicecoach-devkit.pth"
echo "voicecoach is installed: .venv/bin/voicecoach"
