#!/bin/sh
# sh tools/find_python.sh X.Y: print the path of a CPython X.Y that answers, or print nothing
# and exit 1. Used by the Makefile to find the Lambda runtime's Python with no manual step.
# Looked for in order: pythonX.Y on PATH (a pyenv shim counts only if it runs: without
# PYENV_VERSION or a .python-version it refuses), then pyenv's own builds
# ($(pyenv root)/versions/X.Y.*, newest first), then /usr/local/bin and /usr/bin.
want=$1
case $want in
  [0-9].[0-9]*) ;;
  *) echo "usage: sh tools/find_python.sh X.Y" >&2; exit 2 ;;
esac
major=${want%%.*}
minor=${want#*.}

answers() {
  [ -n "$1" ] && [ -x "$1" ] &&
    "$1" -c "import sys; sys.exit(sys.version_info[:2] != ($major, $minor))" >/dev/null 2>&1
}

if answers "$(command -v "python$want" 2>/dev/null)"; then
  command -v "python$want"
  exit 0
fi
root=$(pyenv root 2>/dev/null) || root=${PYENV_ROOT:-$HOME/.pyenv}
for candidate in $(ls -d "$root/versions/$want".*/bin/"python$want" 2>/dev/null | sort -rV) \
  "/usr/local/bin/python$want" "/usr/bin/python$want"; do
  if answers "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done
exit 1
