#!/usr/bin/env bash
# A three-node RabbitMQ cluster on this machine, with the gateway on it (issue #20, point 1):
#
#   bash scripts/cluster.sh up [--no-gateways]   # start what is not running yet (idempotent)
#   bash scripts/cluster.sh status               # what runs, the cluster's members, exit 1 if not up
#   bash scripts/cluster.sh down                 # stop exactly what `up` started, remove var/cluster/
#   bash scripts/cluster.sh stop-node N          # stop node N (1-3) for real; start-node N: back
#
# `up` starts three RabbitMQ nodes edigw1..3@localhost (AMQP 5681-5683, management
# 15681-15683, distribution 25681-25683, data and logs under var/cluster/), joins 2 and 3 to
# 1 (`join_cluster`), sets a policy giving every quorum queue three replicas, creates the
# database edigw_cluster on the PostgreSQL at 127.0.0.1:5432, writes var/cluster/gateway.toml
# (broker.url on node 1, broker.hosts the two others, the PostgreSQL journal), declares the
# topology, then starts two `edigw run` (metrics and /readyz on 9181, 9182) and the console
# (http://127.0.0.1:8481/). `--no-gateways` stops after the topology (the fault tests run
# gateways of their own). Every process started is recorded in a pid file beside its log;
# `down` stops those and nothing else. The machine's own RabbitMQ (5672) is never touched:
# every rabbitmqctl call here names its node with -n.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DIR=$ROOT/var/cluster
NODES=(1 2 3)
RABBIT_BIN=${RABBIT_BIN:-/usr/lib/rabbitmq/bin}
PG_ADMIN=${EDIGW_CLUSTER_PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/postgres}
DB_NAME=edigw_cluster
DSN="postgresql://postgres@127.0.0.1:5432/$DB_NAME"
EDIGW=("$ROOT/.venv/bin/python" -m gateway)
# The cluster's nodes share this cookie (and only they: the machine's broker keeps its own).
export HOME=$DIR/home

node_name() { echo "edigw$1@localhost"; }
amqp_port() { echo $((5680 + $1)); }
ctl() {  # ctl N ARGS...: rabbitmqctl on node N only
    local n=$1; shift
    "$RABBIT_BIN/rabbitmqctl" -q -n "$(node_name "$n")" "$@"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
say() { echo "cluster: $*" >&2; }

node_env() {  # node_env N: the environment of node N's server and of its CLI calls
    local n=$1 d=$DIR/node$1
    export RABBITMQ_NODENAME; RABBITMQ_NODENAME=$(node_name "$n")
    export RABBITMQ_NODE_PORT; RABBITMQ_NODE_PORT=$(amqp_port "$n")
    export RABBITMQ_DIST_PORT=$((25680 + n))
    export RABBITMQ_CONF_ENV_FILE=$d/rabbitmq-env.conf
    export RABBITMQ_CONFIG_FILE=$d/rabbitmq.conf
    export RABBITMQ_ADVANCED_CONFIG_FILE=$d/advanced.config
    export RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins
    export RABBITMQ_MNESIA_BASE=$d/data
    export RABBITMQ_MNESIA_DIR=$d/data/$RABBITMQ_NODENAME
    export RABBITMQ_LOG_BASE=$d/log
    export RABBITMQ_PID_FILE=$d/rabbitmq.pid
    export RABBITMQ_PLUGINS_EXPAND_DIR=$d/plugins-expand
}

write_node_files() {
    local n=$1 d=$DIR/node$1
    mkdir -p "$d/data" "$d/log"
    : >"$d/rabbitmq-env.conf"
    cat >"$d/rabbitmq.conf" <<EOF
listeners.tcp.local = 127.0.0.1:$(amqp_port "$n")
management.tcp.ip = 127.0.0.1
management.tcp.port = $((15680 + n))
# A node cut off from the other two stops serving rather than diverge (docs/deployment.md).
cluster_partition_handling = pause_minority
EOF
    echo "[]." >"$d/advanced.config"
    echo "[rabbitmq_management]." >"$d/enabled_plugins"
}

start_node() {
    local n=$1 d=$DIR/node$1
    if ctl "$n" status >/dev/null 2>&1; then
        say "node $(node_name "$n") is running"
        return 0
    fi
    write_node_files "$n"
    say "starting $(node_name "$n") on $(amqp_port "$n")"
    (
        node_env "$n"
        # The same limit as the machine's broker gets in scripts/setup.sh: quorum queues need
        # file handles. The distribution listens on the loopback only, like the machine's node.
        ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
        export ERL_EPMD_ADDRESS=127.0.0.1
        export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
        exec setsid "$RABBIT_BIN/rabbitmq-server" >"$d/log/startup.log" 2>&1 </dev/null
    ) &
    echo $! >"$d/server.pid"
}

await_node() {
    local n=$1
    for _ in $(seq 1 120); do
        if ctl "$n" await_startup --timeout 5 >/dev/null 2>&1 && port_open "$(amqp_port "$n")"; then
            return 0
        fi
        pid_alive "$DIR/node$n/server.pid" || { say "node $n exited: see $DIR/node$n/log"; return 1; }
        sleep 1
    done
    say "node $(node_name "$n") did not start: see $DIR/node$n/log"
    return 1
}

join_node() {
    local n=$1 first
    first=$(node_name 1)
    if ctl "$n" cluster_status 2>/dev/null | grep -q "$first"; then
        return 0
    fi
    say "joining $(node_name "$n") to $first"
    {
        ctl "$n" stop_app
        ctl "$n" reset
        ctl "$n" join_cluster "$first"
        ctl "$n" start_app
        ctl "$n" await_startup --timeout 60
    } >>"$DIR/node$n/log/join.log" 2>&1
}

write_config() {
    mkdir -p "$DIR/keys" "$DIR/trust"
    cat >"$DIR/gateway.toml" <<EOF
# Written by scripts/cluster.sh: the gateway on the three-node cluster of this machine.
[gateway]
state_dir = "$DIR/state"
mode = "development"

[broker]
url = "amqp://guest:guest@127.0.0.1:$(amqp_port 1)/%2F"
hosts = ["127.0.0.1:$(amqp_port 2)", "127.0.0.1:$(amqp_port 3)"]

[journal]
backend = "postgresql"
path = "$DSN"

[keys]
signing_key = "$DIR/keys/signing-key.pem"
signing_cert = "$DIR/keys/signing-cert.pem"

[trust]
dir = "$DIR/trust"

[metrics]
management_url = "http://127.0.0.1:15681"

[console]
port = 8481
EOF
}

start_gateway_process() {  # NAME ARGS...: an edigw process in the background, pid file NAME.pid
    local name=$1; shift
    if pid_alive "$DIR/$name.pid"; then
        say "$name is running (pid $(cat "$DIR/$name.pid"))"
        return 0
    fi
    say "starting $name"
    EDIGW_CONFIG=$DIR/gateway.toml EDIGW_STATE_DIR=$DIR/$name \
        setsid "${EDIGW[@]}" --log-format json "$@" >>"$DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$DIR/$name.pid"
}

up() {
    local gateways=1
    [[ ${1:-} == --no-gateways ]] && gateways=0
    [[ -x .venv/bin/python ]] || bash scripts/setup.sh
    mkdir -p "$HOME"
    if [[ ! -f $HOME/.erlang.cookie ]]; then
        head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$HOME/.erlang.cookie"
        chmod 400 "$HOME/.erlang.cookie"
    fi
    for n in "${NODES[@]}"; do start_node "$n"; done
    for n in "${NODES[@]}"; do await_node "$n"; done
    for n in 2 3; do join_node "$n"; done
    # Every quorum queue on all three nodes: RabbitMQ 3.10 takes the replica count from this
    # policy's initial-cluster-size when a queue is declared (the queues' leaders are where
    # they were declared, node 1: the leader test stops the node the gateways are on).
    ctl 1 set_policy --apply-to queues edigw-quorum-3 '.*' '{"initial-cluster-size": 3}' >/dev/null
    if ! psql "$PG_ADMIN" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
        say "creating database $DB_NAME"
        psql "$PG_ADMIN" -qc "CREATE DATABASE $DB_NAME" >/dev/null
    fi
    write_config
    local config=(env EDIGW_CONFIG="$DIR/gateway.toml" EDIGW_STATE_DIR="$DIR/state")
    "${config[@]}" "${EDIGW[@]}" keys generate >/dev/null
    # With the PostgreSQL journal, `edigw run` takes the ministries' anchors from [trust] dir
    # only: development ones are made there once, as a site installs its real ones.
    "${config[@]}" "$ROOT/.venv/bin/python" -c '
from pathlib import Path
from gateway.config import load
from gateway.security.trust import DevPki
s = load()
DevPki.ensure(s.state_dir, [p.id for p in s.partners_with_role("ministry")], Path(s.config.trust.dir))'
    "${config[@]}" "${EDIGW[@]}" db upgrade >/dev/null
    "${config[@]}" "${EDIGW[@]}" topology >/dev/null
    if [[ $gateways == 1 ]]; then
        start_gateway_process gw1 run --metrics-port 9181
        start_gateway_process gw2 run --metrics-port 9182
        start_gateway_process console console
        for name in gw1 gw2; do
            local port=$((9180 + ${name#gw}))
            for _ in $(seq 1 90); do
                curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
                pid_alive "$DIR/$name.pid" || { say "$name exited: see $DIR/$name.log"; exit 1; }
                sleep 1
            done
        done
    fi
    status
}

stop_pid_file() {  # stop_pid_file FILE: SIGTERM the process it names (ours), SIGKILL after 30 s
    local file=$1 pid
    [[ -f $file ]] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

down() {
    for name in console gw1 gw2; do stop_pid_file "$DIR/$name.pid"; done
    for n in 3 2 1; do
        [[ -f $DIR/node$n/server.pid ]] && stop_node "$n"
    done
    if command -v psql >/dev/null && psql "$PG_ADMIN" -tAc "SELECT 1" >/dev/null 2>&1; then
        PGOPTIONS="-c client_min_messages=warning" \
            psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null
    fi
    rm -rf "$DIR"
    say "down"
}

status() {
    local up=0
    if [[ ! -f $HOME/.erlang.cookie ]]; then
        # Never brought up (or taken down): no node to ask, and the Erlang CLI without its
        # cookie's folder would only leave a crash dump behind.
        echo "not up (no $DIR)"
        return 1
    fi
    for n in "${NODES[@]}"; do
        if ctl "$n" status >/dev/null 2>&1; then
            echo "node $(node_name "$n")  amqp 127.0.0.1:$(amqp_port "$n")  running"
        else
            echo "node $(node_name "$n")  amqp 127.0.0.1:$(amqp_port "$n")  stopped"
            up=1
        fi
    done
    for name in gw1 gw2 console; do
        if pid_alive "$DIR/$name.pid"; then
            echo "$name  pid $(cat "$DIR/$name.pid")  running  log $DIR/$name.log"
        else
            echo "$name  not running"
        fi
    done
    ctl 1 cluster_status --formatter json 2>/dev/null \
        | "$ROOT/.venv/bin/python" -c 'import json,sys; d=json.load(sys.stdin); print("members: " + ", ".join(d.get("running_nodes", [])))' \
        || true
    [[ -f $DIR/gateway.toml ]] && echo "config: $DIR/gateway.toml"
    return $up
}

stop_node() {  # one node down for real (its Erlang VM exits), as a lost machine would be
    local n=$1
    say "stopping $(node_name "$n")"
    ctl "$n" stop >/dev/null 2>&1 || true
    stop_pid_file "$DIR/node$n/rabbitmq.pid"
    stop_pid_file "$DIR/node$n/server.pid"
}

start_one_node() {  # back into the cluster it left (its data directory remembers it)
    start_node "$1"
    await_node "$1"
}

check_node() {
    [[ ${1:-} =~ ^[123]$ ]] || { echo "usage: $0 stop-node|start-node 1|2|3" >&2; exit 2; }
    [[ -f $HOME/.erlang.cookie ]] || { echo "cluster: not up (bash $0 up first)" >&2; exit 1; }
}

case ${1:-} in
up) shift; up "$@" ;;
down) down ;;
status) status ;;
stop-node) check_node "${2:-}"; stop_node "$2" ;;
start-node) check_node "${2:-}"; start_one_node "$2" ;;
*) echo "usage: $0 up [--no-gateways] | down | status | stop-node N | start-node N" >&2; exit 2 ;;
esac
