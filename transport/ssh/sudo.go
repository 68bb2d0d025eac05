package ssh

// SudoGuard is a POSIX sh prelude for a script that runs as root under
// `sudo -n sh -c SCRIPT` (become: sudo). On cancel, Run sends SIGKILL to the
// session's process group, but the login user may not signal root processes:
// only sudo dies and the root script runs on. The guard, started first in the
// root script, waits for its parent (sudo) to go and then kills its own process
// group, i.e. the root script and everything it started, within about a second.
// It holds no stdio, so a script that ends normally is not delayed.
//
// "sudo is gone" is read as "my parent changed" from /proc (a killed sudo can
// linger as a zombie that kill -0 still finds), falling back to kill -0.
const SudoGuard = `__af_p=$PPID; ( while if [ -r /proc/$$/stat ]; then read -r __af_s </proc/$$/stat; set -- ${__af_s##*\)}; [ "$2" = "$__af_p" ]; else kill -0 "$__af_p"; fi 2>/dev/null; do sleep 1; done; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &` + "\n"
