# Sourced by scripts/main and scripts/test: make .venv hold exactly the locked dependencies.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
py=${PYTHON:-python3}
stamp="$venv/.hashlens-lock"
want=$(cat "$root/requirements.lock" "$root/pyproject.toml" | cksum)
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "hashlens: installing locked dependencies into .venv ..." >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements.lock"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$root"
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$root"
