# Sourced by scripts/test: the Debian packages the test suite drives (Chromium for the
# browser tests, PostgreSQL's server for the store tests, which start their own cluster in a
# temporary folder). Installed when missing and we are root; otherwise a message names them.
need=""
command -v chromium >/dev/null 2>&1 || need="$need chromium"
pg_server_present() {
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && return 0
  done
  command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1
}
pg_server_present || need="$need postgresql"
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "hashlens: installing Debian package(s):$need ..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
  else
    echo "hashlens: the browser and store tests need Debian's$need package(s); install them (sudo apt-get install$need) and rerun" >&2
    exit 2
  fi
fi
