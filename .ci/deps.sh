#!/usr/bin/env bash
# Installs what arcfleet's end-to-end tests need on a Debian machine. Idempotent.
set -euo pipefail
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v sudo >/dev/null || need+=(sudo)
command -v pgrep >/dev/null || need+=(procps)
/usr/bin/python3 -c 'import winrm' 2>/dev/null || need+=(python3-winrm)
[ -x /usr/bin/python3 ] || need+=(python3)
# Headless Chromium renders the HTML report in its end-to-end test (cmd/arcfleet).
command -v chromium >/dev/null || need+=(chromium)
# The CLI tests complete words through bash-completion as a shell does, and render the man pages with man -l.
[ -r /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
command -v man >/dev/null || need+=(man-db)
# strace counts the programs the Linux connect script starts on a host (internal/agent).
command -v strace >/dev/null || need+=(strace)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing ${need[*]}; run 'make deps' as root (tests needing them will be skipped)" >&2
    exit 0
  fi
  echo "deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p /run/sshd 2>/dev/null && chmod 0755 /run/sshd 2>/dev/null || true
