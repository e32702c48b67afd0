#!/usr/bin/env bash
# Installs Debian's Dovecot IMAP server for the email tests (they skip, saying why, without it).
# The tests start their own throwaway instance; the system service is never used.
set -u
if command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_dovecot: not root or no apt-get; the IMAP tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq dovecot-imapd >/dev/null 2>&1 \
  || echo "install_dovecot: apt-get install dovecot-imapd failed; the IMAP tests will be skipped" >&2
exit 0
