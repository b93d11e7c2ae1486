# Sourced by scripts/main, scripts/test, scripts/bench and .ci/run: make .venv hold the locked
# sets they name in $HASHLENS_LOCKS (default: the runtime set alone, requirements.lock). Each
# set is installed once per version of its lock file; the main job never installs the test,
# benchmark or lint tools.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
py=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
for lock in requirements.lock ${HASHLENS_LOCKS:-}; do
  stamp="$venv/.hashlens-$lock"
  want=$(cksum < "$root/$lock")
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "hashlens: installing $lock into .venv ..." >&2
    (cd "$root" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$lock")
    echo "$want" > "$stamp"
  fi
done
stamp="$venv/.hashlens-project"
want=$(cksum < "$root/pyproject.toml")
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$root"
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$root"
