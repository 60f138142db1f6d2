# shellcheck shell=bash
# Shell functions shared by bin/run and bin/test. Source it; don't run it.
#
#   FENGHUO_ROOT       the repository (set here)
#   FENGHUO_VENV       the virtualenv, .venv in the repository unless set
#   FENGHUO_DATA_DIR   runtime files (SQLite, broker folders, beat schedule), ./var unless set
#
# Debian packages are installed only when missing and only when we are root; otherwise
# we say what is missing and carry on.

FENGHUO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FENGHUO_VENV="${FENGHUO_VENV:-$FENGHUO_ROOT/.venv}"
FENGHUO_DATA_DIR="${FENGHUO_DATA_DIR:-$FENGHUO_ROOT/var}"
export FENGHUO_DATA_DIR

if [ -t 1 ]; then
    _FH_BOLD=$'\033[1m' _FH_RED=$'\033[31m' _FH_YELLOW=$'\033[33m' _FH_RESET=$'\033[0m'
else
    _FH_BOLD='' _FH_RED='' _FH_YELLOW='' _FH_RESET=''
fi

fh_header() {  # fh_header TEXT: a phase banner
    printf '\n%s==> %s%s\n' "$_FH_BOLD" "$*" "$_FH_RESET"
}

fh_info() {
    printf '%s\n' "$*"
}

fh_warn() {
    printf '%swarning:%s %s\n' "$_FH_YELLOW" "$_FH_RESET" "$*" >&2
}

fh_die() {
    printf '%serror:%s %s\n' "$_FH_RED" "$_FH_RESET" "$*" >&2
    exit 1
}

fh_is_root() {
    [ "$(id -u)" -eq 0 ]
}

_FH_APT_UPDATED=''
fh_apt_install() {  # fh_apt_install PKG...: install Debian packages (root only)
    if ! fh_is_root; then
        fh_warn "missing Debian package(s): $*; not root, so not installing (sudo apt-get install -y $*)"
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        fh_warn "missing package(s) $*, and there is no apt-get here; install them yourself"
        return 1
    fi
    fh_info "Installing Debian package(s): $*"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$_FH_APT_UPDATED" ]; then
        apt-get update || return 1
        _FH_APT_UPDATED=1
    fi
    apt-get install -y "$@"
}

fh_have_deb() {  # fh_have_deb PKG: is this Debian package installed?
    command -v dpkg-query >/dev/null 2>&1 &&
        [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

fh_python_ok() {  # fh_python_ok PYTHON: is it 3.11+ and able to make a venv with pip?
    "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

fh_find_python() {  # prints a python3.11+ that can create virtualenvs
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if fh_python_ok "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

fh_ensure_python() {  # sets FH_PYTHON, installing Debian's python3 + venv if need be
    FH_PYTHON="$(fh_find_python)" && return 0
    fh_apt_install python3 python3-venv python3-pip >&2 || true
    FH_PYTHON="$(fh_find_python)" ||
        fh_die "need Python 3.11 or newer with the venv module (Debian: apt-get install -y python3 python3-venv)"
}

fh_ensure_venv() {  # create the virtualenv, (re)install the project when pyproject.toml changed
    local stamp="$FENGHUO_VENV/.fenghuo-installed"
    if [ ! -x "$FENGHUO_VENV/bin/python" ] || ! "$FENGHUO_VENV/bin/python" -c '' >/dev/null 2>&1; then
        fh_ensure_python
        fh_header "Creating virtualenv $FENGHUO_VENV with $FH_PYTHON"
        rm -rf "$FENGHUO_VENV"
        "$FH_PYTHON" -m venv "$FENGHUO_VENV" || fh_die "could not create $FENGHUO_VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$FENGHUO_ROOT/pyproject.toml" -nt "$stamp" ] ||
        [ "$FENGHUO_ROOT/constraints.txt" -nt "$stamp" ]; then
        fh_header "Installing Fenghuo and its dependencies (pip install -c constraints.txt -e '.[dev]')"
        (cd "$FENGHUO_ROOT" &&
            "$FENGHUO_VENV/bin/python" -m pip install --disable-pip-version-check \
                -c constraints.txt -e '.[dev]') ||
            fh_die "pip install failed"
        touch "$stamp"
    fi
    export VIRTUAL_ENV="$FENGHUO_VENV"
    export PATH="$FENGHUO_VENV/bin:$PATH"
    hash -r
}

fh_ensure_data_dirs() {  # the folders settings.py points SQLite, the broker and beat at
    mkdir -p "$FENGHUO_DATA_DIR/broker/queue" "$FENGHUO_DATA_DIR/broker/processed" \
        "$FENGHUO_DATA_DIR/broker/control"
}

_fh_po_files() {  # the translation catalogues: locale/ and each app's locale/
    local po
    for po in "$FENGHUO_ROOT"/locale/*/LC_MESSAGES/*.po "$FENGHUO_ROOT"/*/locale/*/LC_MESSAGES/*.po; do
        case "$po" in "$FENGHUO_VENV"/* | "$FENGHUO_ROOT"/.venv/*) continue ;; esac
        [ -f "$po" ] && printf '%s\n' "$po"
    done
    return 0
}

fh_ensure_gettext_if_translations() {  # msgfmt, but only when there is something to compile
    if [ -n "$(_fh_po_files)" ] && ! command -v msgfmt >/dev/null 2>&1; then
        fh_apt_install gettext || true
    fi
}

fh_compilemessages() {  # compile the .po files when one is newer than its .mo
    local po stale=''
    while IFS= read -r po; do
        if [ ! -f "${po%.po}.mo" ] || [ "$po" -nt "${po%.po}.mo" ]; then
            stale=1
        fi
    done < <(_fh_po_files)
    [ -n "$stale" ] || return 0
    if ! command -v msgfmt >/dev/null 2>&1; then
        fh_warn "translations not compiled: msgfmt missing (apt-get install -y gettext)"
        return 0
    fi
    fh_header "Compiling translations"
    (cd "$FENGHUO_ROOT" && python manage.py compilemessages --ignore=.venv --ignore=var)
}
