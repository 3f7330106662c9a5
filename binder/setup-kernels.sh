#!/usr/bin/env bash
# Build the book's four framework kernels, as `make envs` does: one virtualenv per framework from
# requirements/<framework>.txt with d2l_support installed from this checkout, each registered as
# the Jupyter kernel d2l-<framework> into the environment that runs the Jupyter server.
#
#   binder/setup-kernels.sh ENVS_DIR SERVER_PREFIX [FRAMEWORK...]
#
# ENVS_DIR/<framework> receives the virtualenvs; the kernel specs go to
# SERVER_PREFIX/share/jupyter/kernels/d2l-<framework> (Binder: $NB_PYTHON_PREFIX).
# FRAMEWORKS defaults to all four. Each env is made from the interpreter tools/pick_python.py picks
# for its requirement file's `# python:` range (PYTHON, or PYTHON_<FRAMEWORK>, names one), as
# `make envs` does; an existing env whose Python fits is kept. Where the checkout has no tools/
# (the `notebooks` branch Binder builds), PYTHON (default python3) is used, as on Binder's 3.11.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 ENVS_DIR SERVER_PREFIX [FRAMEWORK...]" >&2
    exit 2
fi
envs_dir=$1
server_prefix=$2
shift 2
frameworks=("$@")
[[ ${#frameworks[@]} -gt 0 ]] || frameworks=(pytorch tensorflow mxnet jax)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
picker=$repo/tools/pick_python.py

for fw in "${frameworks[@]}"; do
    if [[ ! -f $repo/requirements/$fw.txt ]]; then
        echo "setup-kernels: unknown framework '$fw' (no requirements/$fw.txt in $repo)" >&2
        exit 2
    fi
done

# The picker checks every env each time it is asked about one: when one has no interpreter it
# says what to install and fails, before the first env is made.
specs=()
for fw in "${frameworks[@]}"; do specs+=("$fw=$repo/requirements/$fw.txt"); done

mkdir -p "$envs_dir" "$server_prefix"
n=0
for fw in "${frameworks[@]}"; do
    n=$((n + 1))
    env=$envs_dir/$fw
    start=$SECONDS
    echo "== [$n/${#frameworks[@]}] $fw: virtualenv $env"
    if [[ -f $picker ]]; then
        py=$("$python" "$picker" --venvs "$envs_dir" --print "$fw" "${specs[@]}")
        [[ -z $py ]] || "$py" -m venv --clear "$env"  # empty: the existing env fits, kept
    else
        "$python" -m venv "$env"
    fi
    echo "   installing requirements/$fw.txt"
    "$env/bin/python" -m pip install -q -r "$repo/requirements/$fw.txt"
    echo "   installing d2l_support from $repo"
    "$env/bin/python" -m pip install -q --no-deps -e "$repo"
    "$env/bin/python" -m ipykernel install --prefix "$server_prefix" \
        --name "d2l-$fw" --display-name "d2l ($fw)" >/dev/null
    echo "   kernel d2l-$fw registered in $server_prefix ($((SECONDS - start)) s)"
done
