# Sourced by scripts/test: the Debian packages the test suite drives (Chromium for the
# browser tests). Installed when missing and we are root; otherwise a message names them.
need=""
command -v chromium >/dev/null 2>&1 || need="$need chromium"
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "hashlens: installing Debian package(s):$need ..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
  else
    echo "hashlens: the browser tests need Debian's$need package; install it (sudo apt-get install$need) and rerun" >&2
    exit 2
  fi
fi
