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
// "sudo is gone" is read from /proc: while the root script lives, as "its
// parent is no longer sudo"; once it has ended, as "sudo has ended too" (so a
// script that ends normally does not have its still running sudo signalled,
// which would change the exit status). A zombie counts as ended: kill -0 still
// finds one. Without /proc, the guard falls back to kill -0 on sudo.
const SudoGuard = `__af_p=$PPID; ( trap "" TERM; while if [ ! -d /proc/self ]; then kill -0 "$__af_p"; elif read -r __af_s </proc/$$/stat && set -- ${__af_s##*\)} && [ "$1" != Z ]; then [ "$2" = "$__af_p" ]; else read -r __af_s </proc/$__af_p/stat && set -- ${__af_s##*\)} && [ "$1" != Z ]; fi 2>/dev/null; do sleep 1; done; kill -TERM 0; sleep 2; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &` + "\n"
