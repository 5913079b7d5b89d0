#!/usr/bin/env bash
# Installs what building and testing rkt needs on a fresh Debian machine: the pinned Rust
# toolchain's musl target and components, and the Debian tools the tests and demo use.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup target list --installed --toolchain "$toolchain" 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    echo "setup: rustup target add x86_64-unknown-linux-musl ($toolchain)"
    rustup target add --toolchain "$toolchain" x86_64-unknown-linux-musl
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed --toolchain "$toolchain" 2>/dev/null | grep -q "^$component"; then
        rustup component add --toolchain "$toolchain" "$component"
    fi
done

# Debian packages: tool -> package.
declare -A packages=(
    [file]=file [readelf]=binutils [gzip]=gzip [bzip2]=bzip2 [xz]=xz-utils [zstd]=zstd
    [busybox]=busybox-static [unshare]=util-linux [setpriv]=util-linux [hyperfine]=hyperfine
    [gpg]=gnupg [gpgconf]=gnupg [script]=bsdutils
    [curl]=curl [openssl]=openssl [timeout]=coreutils [gcc]=gcc [go]=golang-go
    [ip]=iproute2 [nft]=nftables [iptables]=iptables [taskset]=util-linux
)
missing=()
for tool in "${!packages[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${packages[$tool]}")
done
# The named-network tests run Debian's CNI plugins (rkt itself needs none).
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "setup: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
