# The recipes people run. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Go/OCI architecture name -> Rust target. The one list every recipe builds from.
# arm builds as Thumb-2 (thumbv7neon: smaller code; pause itself uses no NEON or FP).
arches := "amd64:x86_64-unknown-linux-gnu arm64:aarch64-unknown-linux-gnu " + \
    "arm:thumbv7neon-unknown-linux-gnueabihf 386:i686-unknown-linux-gnu " + \
    "riscv64:riscv64gc-unknown-linux-gnu s390x:s390x-unknown-linux-gnu " + \
    "ppc64le:powerpc64le-unknown-linux-gnu"

host_triple := `rustc -vV | sed -n 's/^host: //p'`
llvm_bin := `rustc --print sysroot` / "lib/rustlib" / host_triple / "bin"
export LLVM_BIN := llvm_bin

# Build and run pause for this host's architecture: `just run`, `just run -v`.
run *args: dist
    #!/usr/bin/env bash
    set -euo pipefail
    for pair in {{arches}}; do
        if [[ ${pair#*:} == "{{host_triple}}" ]]; then exec "dist/pause-linux-${pair%%:*}" {{args}}; fi
    done
    echo "no pause build for this host ({{host_triple}})" >&2; exit 1

# Build every architecture into dist/pause-linux-<arch> (release, stripped, no section headers).
dist:
    #!/usr/bin/env bash
    set -euo pipefail
    mkdir -p dist
    for pair in {{arches}}; do
        arch=${pair%%:*} target=${pair#*:}
        cargo build --quiet --config linker/cargo.toml -p pause --release --target "$target"
        # Section headers are for linkers and debuggers; the kernel and qemu read only the
        # program headers. Dropping them (and .shstrtab) leaves a valid, smaller ELF.
        "{{llvm_bin}}/llvm-objcopy" --strip-sections "target/$target/release/pause" "dist/pause-linux-$arch"
    done
    ls -l dist/pause-linux-*

# Format check and clippy, warnings denied: the std crates for the host, pause for every target.
lint:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo fmt --all --check
    cargo clippy --quiet --workspace --exclude pause --all-targets -- -D warnings
    for pair in {{arches}}; do
        cargo clippy --quiet --config linker/cargo.toml -p pause --release --target "${pair#*:}" -- -D warnings
    done

# The whole suite: lint, build every arch and the image, then the std harness against them.
test: lint image
    cargo test --workspace --exclude pause

# Install what the suite needs on Debian 12 (as root): apt packages, rustup targets, tools.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    # runc stays explicit: podman would settle for crun alone. Recommends are installed too
    # (podman's fuse-overlayfs, slirp4netns, uidmap...): the suite is run with them.
    # protobuf-compiler: k8s-cri's build script generates the CRI client with protoc.
    pkgs=(qemu-user-static strace util-linux binutils busybox-static git iproute2 skopeo umoci
          runc crun podman containerd containernetworking-plugins protobuf-compiler
          gcc musl-tools catatonit tini dumb-init)
    missing=()
    for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if ((${#missing[@]})); then
        apt-get -o DPkg::Lock::Timeout=600 update -q
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
            "${missing[@]}"
    fi
    targets=()
    for pair in {{arches}}; do targets+=("${pair#*:}"); done
    rustup target add "${targets[@]}"
    rustup component add llvm-tools clippy rustfmt

# Regenerate the README's measured blocks (between `<!-- NAME:begin -->` and `<!-- NAME:end -->`):
# the per-arch sizes from dist/ and the linked ELF files, and bench/summary.md when present.
readme: dist
    #!/usr/bin/env bash
    set -euo pipefail
    table="| arch | file bytes | headers and padding | code | read-only data |"
    table+=$'\n'"|---|---:|---:|---:|---:|"
    for pair in {{arches}}; do
        arch=${pair%%:*} target=${pair#*:}
        file=$(stat -c %s "dist/pause-linux-$arch")
        read -r code data < <("{{llvm_bin}}/llvm-size" -A "target/$target/release/pause" |
            awk '$1 == ".text" { t = $2 } $1 == ".rodata" { r = $2 } END { print t, r }')
        table+=$'\n'"| $arch | $file | $((file - code - data)) | $code | $data |"
    done
    splice() {
        BLOCK=$1 TEXT=$2 awk '
            $0 == "<!-- " ENVIRON["BLOCK"] ":begin -->" { print; print ENVIRON["TEXT"]; skip = 1; next }
            $0 == "<!-- " ENVIRON["BLOCK"] ":end -->" { skip = 0 }
            !skip' README.md > README.md.new
        mv README.md.new README.md
    }
    splice sizes "$table"
    if [[ -f bench/summary.md ]]; then splice bench "$(cat bench/summary.md)"; fi

# The multi-arch OCI image, without Docker: dist/oci (layout) and dist/pause-oci.tar.
image: dist
    cargo run --quiet --release -p pause-tools -- image {{ replace_regex(arches, ':[^ ]+', '') }}

# The Kubernetes path for real: containerd's CRI and podman run our image as the sandbox.
test-k8s: image
    cargo test -p pause-tests --test k8s -- --test-threads=1

# Measure pause against its peers: bench/results.md, bench/chart.svg, bench/summary.md,
# then the README's figures from them.
bench: image
    cargo run --quiet --release -p pause-tools -- bench
    just readme
