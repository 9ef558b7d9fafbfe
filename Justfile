# The recipes people run. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Go/OCI architecture name (with its variant after a dash) -> Rust target. The one list
# every recipe builds from. arm (v7) builds as Thumb-2 (thumbv7neon: smaller code; pause uses
# no NEON or FP); arm-v6 and arm-v5 as Thumb-1, which ARMv5TE and ARMv6 cores have: one
# target, so the same bytes for both. mipsle is o32 MIPS32r2, mips64le n64 MIPS64r2 (the
# targets' default CPUs).
arches := "amd64:x86_64-unknown-linux-gnu arm64:aarch64-unknown-linux-gnu " + \
    "arm:thumbv7neon-unknown-linux-gnueabihf 386:i686-unknown-linux-gnu " + \
    "riscv64:riscv64gc-unknown-linux-gnu s390x:s390x-unknown-linux-gnu " + \
    "ppc64le:powerpc64le-unknown-linux-gnu arm-v6:thumbv5te-none-eabi " + \
    "arm-v5:thumbv5te-none-eabi loong64:loongarch64-unknown-linux-gnu " + \
    "mipsle:mipsel-unknown-linux-gnu mips64le:mips64el-unknown-linux-gnuabi64"

# The targets whose prebuilt core rustup cannot fetch here. Their core is built from this
# toolchain's own rust-src (-Zbuild-std=core, which RUSTC_BOOTSTRAP=1 allows on a stable
# compiler, as the Linux kernel builds its Rust), so it is pinned to the toolchain.
core_from_source := "thumbv5te-none-eabi loongarch64-unknown-linux-gnu " + \
    "mipsel-unknown-linux-gnu mips64el-unknown-linux-gnuabi64"

# The Python tools that validate the image's SBOM and provenance (tests/attestations.rs):
# PyPI's, pinned, in a venv of Debian's python3 that `just setup` makes.
venv := "/opt/pause-venv"
venv_packages := "spdx-tools==0.8.5 in-toto-attestation==0.9.3"

# The release signing key `just keygen` makes and `just release` signs with: cosign's
# encrypted PEM private key, its public key beside it with the extension .pub. Outside the
# repository: `$PAUSE_SIGNING_KEY`, else in ~/.config/pause. Its passphrase is read from the
# environment variable named here, never from a file.
signing_key_env := "PAUSE_SIGNING_KEY"
signing_key := env(signing_key_env, home_directory() / ".config/pause/cosign.key")
passphrase_env := "PAUSE_SIGN_PASSPHRASE"

# Debian 13's skopeo, podman and cosign, with all they link, unpacked by `just setup` into
# this private root (never installed into dpkg): Debian 12's skopeo and podman are built with
# sigstore turned off, so they can neither sign nor enforce a signature
# (harness/src/trixie.rs). `just release` signs with that skopeo and checks with that cosign;
# the release test enforces the policy with that podman.
export PAUSE_TRIXIE_ROOT := "/opt/pause-trixie"
trixie_tools := "skopeo podman cosign"

host_triple := `rustc -vV | sed -n 's/^host: //p'`
# rustup's llvm-tools (llvm-objcopy, llvm-size): the one place the tools are found. The
# std side (the bench) reads it from the environment.
export LLVM_BIN := `rustc --print sysroot` / "lib/rustlib" / host_triple / "bin"

# Build and run pause for this host: `just run`, `just run -v`. The same as `./run`, which
# needs no just; just reports a Ctrl-C as its own interruption, `./run` ends as pause does.
run *args:
    @./run {{args}}

# Build every architecture into dist/pause-linux-<arch> (release, stripped, no section headers).
dist:
    #!/usr/bin/env bash
    set -euo pipefail
    mkdir -p dist
    for pair in {{arches}}; do just build-one "${pair#*:}" "dist/pause-linux-${pair%%:*}"; done
    ls -l dist/pause-linux-*

# Build pause for one Rust target into OUT: the one definition of the build, which `dist` and
# the reproducible-build test run (the test in clean CARGO_TARGET_DIRs).
build-one target out:
    #!/usr/bin/env bash
    set -euo pipefail
    just cargo-pause build "{{target}}"
    # Section headers are for linkers and debuggers; the kernel and qemu read only the
    # program headers. Dropping them (and .shstrtab) leaves a valid, smaller ELF.
    "$LLVM_BIN/llvm-objcopy" --strip-sections \
        "${CARGO_TARGET_DIR:-target}/{{target}}/release/pause" "{{out}}"

# cargo COMMAND for the pause binary on one target: the binary's own flags, and core from
# rust-src where rustup has none.
[private]
cargo-pause command target *args: (cargo-freestanding "pause" command target args)

# The same for any freestanding package of ours (pause, or the real-kernel suite's probe).
[private]
cargo-freestanding package command target *args:
    #!/usr/bin/env bash
    set -euo pipefail
    std=()
    if [[ " {{core_from_source}} " == *" {{target}} "* ]]; then
        export RUSTC_BOOTSTRAP=1
        std=(-Zbuild-std=core)
    fi
    cargo {{command}} --quiet --config linker/cargo.toml -p {{package}} --release \
        --target "{{target}}" "${std[@]}" {{args}}

# Format check and clippy, warnings denied: the std crates for the host, pause for every target.
lint:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo fmt --all --check
    cargo clippy --quiet --workspace --exclude pause --exclude pause-probe --all-targets --all-features -- -D warnings
    for pair in {{arches}}; do
        just cargo-pause clippy "${pair#*:}" -- -D warnings
        just cargo-freestanding pause-probe clippy "${pair#*:}" -- -D warnings
    done

# The whole suite: lint, build every arch, the image and the probe, then the std harness
# against them: natively, under qemu-user, in real runtimes, and on each arch's real kernel.
test: lint image probe
    cargo test --workspace --exclude pause --exclude pause-probe --all-features

# The plausible bugs of tests/mutants/ (all, or those NAMED), each applied to a scratch copy
# of HEAD with its arch rebuilt and its named tests run: a table of the test that killed each.
mutants *names: dist probe
    cargo run --quiet --release -p pause-tools -- mutants {{names}}

# Every architecture on Debian's kernel for it, under qemu-system (part of `just test`).
test-kernels: dist probe
    cargo test -p pause-tests --test kernels

# The real-kernel suite's helper for every architecture (tests/probe): refuses one syscall
# by seccomp, then runs pause. Built like pause, into target/<target>/release/pause-probe.
probe:
    #!/usr/bin/env bash
    set -euo pipefail
    for pair in {{arches}}; do just cargo-freestanding pause-probe build "${pair#*:}"; done

# Install what the suite needs on Debian 12 (as root): apt packages, rustup targets, tools.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    # runc stays explicit: podman would settle for crun alone. Recommends are installed too
    # (podman's fuse-overlayfs, slirp4netns, uidmap...): the suite is run with them.
    # protobuf-compiler: k8s-cri's build script generates the CRI client with protoc.
    # docker-registry: the registry the image is pushed to and pulled from (the suite runs
    # its own, on loopback, whatever the package's service does). docker.io: Docker 20.10,
    # whose dockerd the suite runs privately (the package does not start one). zstd: Debian
    # 14's loong64 kernel is a zstd EFI zboot image, which qemu cannot unpack itself.
    pkgs=(qemu-user-static strace util-linux binutils busybox-static git iproute2 skopeo umoci
          runc crun podman containerd containernetworking-plugins protobuf-compiler
          gcc musl-tools catatonit tini dumb-init docker-registry docker.io python3-venv zstd
          libssl-dev pkg-config)
    # libssl-dev, pkg-config: OpenSSL, the sigstore crate's crypto backend (tools/, keygen).
    # qemu-system for the real-kernel suite (qemu-system-mips has the Malta board that the
    # mipsle and mips64le kernels boot on). A machine whose qemu-utils comes from
    # bookworm-backports cannot take bookworm's qemu-system (qemu-utils 10 breaks its
    # qemu-system-common): take it from the same backports, on the mirror apt already uses.
    qemu=(qemu-system-arm qemu-system-misc qemu-system-mips qemu-system-ppc qemu-system-x86)
    release=()
    if dpkg-query -W -f '${Version}' qemu-utils 2>/dev/null | grep -q '~bpo12'; then
        release=(-t bookworm-backports)
        list=/etc/apt/sources.list.d/pause-bookworm-backports.sources
        if [[ ! -f $list ]]; then
            uri=$(awk '/^URIs:/ { u = $2 } /^Suites:.*bookworm-updates/ { print u; exit }' \
                /etc/apt/sources.list.d/debian.sources)
            printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' \
                "$uri" /usr/share/keyrings/debian-archive-keyring.gpg >"$list"
        fi
    fi
    # install [apt-get options --] PACKAGES: those not installed yet.
    install() {
        local options=() missing=() p
        if [[ " $* " == *" -- "* ]]; then
            while [[ $1 != -- ]]; do options+=("$1"); shift; done
            shift
        fi
        for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
        ((${#missing[@]})) || return 0
        apt-get -o DPkg::Lock::Timeout=600 update -q
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
            "${options[@]}" "${missing[@]}"
    }
    install "${pkgs[@]}"
    install "${release[@]}" -- "${qemu[@]}"
    targets=()
    for pair in {{arches}}; do
        target=${pair#*:}
        if [[ " {{core_from_source}} " != *" $target "* ]]; then targets+=("$target"); fi
    done
    rustup target add "${targets[@]}"
    rustup component add llvm-tools clippy rustfmt rust-src
    # Debian's own python3 (not whatever python3 comes first on PATH), whose venv module
    # python3-venv provides.
    [[ -x {{venv}}/bin/pip ]] || /usr/bin/python3 -m venv "{{venv}}"
    "{{venv}}/bin/pip" install --quiet {{venv_packages}}
    just trixie-root

# Debian 13's skopeo, podman and cosign in $PAUSE_TRIXIE_ROOT (see trixie_tools), unless
# there already: a private apt root of trixie, on the mirror this machine's apt uses,
# resolves them and everything they depend on; each package is then unpacked, not installed
# (no maintainer scripts run, this machine's dpkg never hears of them).
[private]
trixie-root:
    #!/usr/bin/env bash
    set -euo pipefail
    root=$PAUSE_TRIXIE_ROOT
    missing=0
    for tool in {{trixie_tools}}; do [[ -x $root/usr/bin/$tool ]] || missing=1; done
    if ((missing)); then
        keyring=/usr/share/keyrings/debian-archive-keyring.gpg
        # trixie's signing keys came to Debian 12 in debian-archive-keyring 2023.3+deb12u2
        # (12.11): an older machine's keyring needs that update.
        if [[ ! -f /usr/share/keyrings/debian-archive-trixie-stable.gpg ]]; then
            apt-get -o DPkg::Lock::Timeout=600 update -q
            apt-get -o DPkg::Lock::Timeout=600 install -y -q debian-archive-keyring
        fi
        apt_root=/var/cache/pause-trixie arch=$(dpkg --print-architecture)
        mkdir -p "$apt_root"/{etc,state/lists/partial,cache/archives/partial}
        : >"$apt_root/status"
        uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' \
            "${uri:-http://deb.debian.org/debian}" "$keyring" >"$apt_root/etc/trixie.sources"
        apt_options=(-o DPkg::Lock::Timeout=600 -o "Dir::State=$apt_root/state"
            -o "Dir::State::status=$apt_root/status" -o "Dir::Cache=$apt_root/cache"
            -o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$apt_root/etc"
            -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
            -o APT::Sandbox::User=root)
        apt-get "${apt_options[@]}" update -q
        apt-get "${apt_options[@]}" install --download-only --no-install-recommends -y -q \
            {{trixie_tools}}
        rm -rf "$root.partial"
        mkdir -p "$root.partial"
        for deb in "$apt_root"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$root.partial"; done
        # The merged /usr that trixie's base-files would make, and what a chroot mounts on.
        for dir in bin sbin lib lib64; do ln -sfn "usr/$dir" "$root.partial/$dir"; done
        mkdir -p "$root.partial"/{proc,dev,sys,run,tmp,var/tmp,var/lib/containers,etc/containers}
        rm -rf "$root"
        mv "$root.partial" "$root"
    fi
    "$root/usr/bin/cosign" version >/dev/null

# Regenerate the README's measured blocks (between `<!-- NAME:begin -->` and `<!-- NAME:end -->`):
# the per-arch sizes from dist/ and the linked ELF files, the real-kernel suite's rows from
# its last run, the last whole `just mutants` run's line, and bench/summary.md when present.
readme: dist
    #!/usr/bin/env bash
    set -euo pipefail
    table="| arch | file bytes | headers and padding | code | read-only data |"
    table+=$'\n'"|---|---:|---:|---:|---:|"
    for pair in {{arches}}; do
        arch=${pair%%:*} target=${pair#*:}
        file=$(stat -c %s "dist/pause-linux-$arch")
        read -r code data < <("{{LLVM_BIN}}/llvm-size" -A "target/$target/release/pause" |
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
    # The real-kernel suite's rows (tests/kernels/ writes one per arch), once every arch has one.
    kernels="| arch | proven on | checks passed | seconds |"$'\n'"|---|---|---:|---:|"
    for pair in {{arches}}; do
        row=target/kernels/${pair%%:*}.md
        if [[ ! -f $row ]]; then kernels=""; break; fi
        kernels+=$'\n'"$(cat "$row")"
    done
    if [[ -n $kernels ]]; then splice kernels "$kernels"; fi
    if [[ -f target/mutants/summary.md ]]; then splice mutants "$(cat target/mutants/summary.md)"; fi
    if [[ -f bench/summary.md ]]; then splice bench "$(cat bench/summary.md)"; fi

# The multi-arch OCI image, without Docker: dist/oci (layout) and dist/pause-oci.tar, and
# per platform the docker-archive Docker 20.10 loads, dist/pause-docker-<arch>.tar.
image: dist
    cargo run --quiet --release -p pause-tools -- image {{ replace_regex(arches, ':[^ ]+', '') }}

# Check images against their source: each REF an OCI layout `oci:DIR[:TAG]` or a registry's
# `docker://HOST/NAME:TAG`. Rebuilds the commit each index names (in target/verify/) and
# compares every digest: a table per REF, non-zero status on any mismatch. With `--key PUB`,
# each registry REF's index and platform manifests must also be signed by that key.
verify +refs:
    cargo run --quiet --release -p pause-tools -- verify {{refs}}

# Make the release signing key pair (see `signing_key`), the passphrase from
# `$PAUSE_SIGN_PASSPHRASE`. It never overwrites a key.
[no-exit-message]
keygen:
    @cargo run --quiet --release -p pause-tools -- keygen --key "{{signing_key}}" --passphrase-env {{passphrase_env}}

# Publish this commit as REF (HOST/NAME:TAG, TAG the version): checks the tree, tag,
# CHANGELOG.md and key first, builds the image, pushes it with every platform, its SBOM and
# provenance and a signature of the index and each platform manifest, then prints the
# digest to pin and the containerd and CRI-O lines.
[no-exit-message]
release ref:
    @cargo run --quiet --release -p pause-tools -- release "{{ref}}" --key "{{signing_key}}" --passphrase-env {{passphrase_env}}

# The std side's import graph: per crate target, each module and the modules it uses; fails
# on a circle (tests/deps.rs asserts there is none).
deps:
    cargo run --quiet --release -p pause-tools -- deps

# The Kubernetes path for real: containerd's CRI and podman run our image as the sandbox.
test-k8s: image
    cargo test -p pause-tests --test k8s -- --test-threads=1

# Measure pause against its peers: bench/results.md, bench/chart.svg, bench/summary.md,
# then the README's figures from them.
bench: image
    cargo run --quiet --release -p pause-tools --features bench -- bench
    just readme

# Only the bench's pods-under-churn section (containerd's CRI): printed, and written to
# target/bench/churn.md; bench/ is left as it is.
bench-churn: image
    cargo run --quiet --release -p pause-tools --features bench -- bench churn
