package ssh

// SudoGuard is a POSIX sh prelude for a script that runs as root under
// `sudo -n sh -c SCRIPT` (become: sudo). On cancel, Run signals the session's
// process group, but the login user may not signal root processes: if sudo
// dies (SIGKILL) without relaying, the root script runs on. The guard, started
// first in the root script, waits for its parent (sudo) to go and then signals
// its own process group, i.e. the root script and everything it started: SIGTERM
// first, so the script's traps stop the agent and remove its --config file
// (which holds the secret), then SIGKILL two seconds later for whatever is
// left. The guard ignores SIGTERM itself so that it lives to send the SIGKILL.
// It holds no stdio, so a script that ends normally is not delayed.
//
// The guard acts when the root script has ended or its parent is no longer
// sudo, read from /proc (a dead sudo or script can linger as a zombie, which
// kill -0 still finds); without /proc, when kill -0 no longer finds sudo.
const SudoGuard = `__af_p=$PPID; ( trap "" TERM; while if [ -d /proc/self ]; then read -r __af_s </proc/$$/stat && set -- ${__af_s##*\)} && [ "$1" != Z ] && [ "$2" = "$__af_p" ]; else kill -0 "$__af_p"; fi 2>/dev/null; do sleep 1; done; kill -TERM 0; sleep 2; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &` + "\n"
