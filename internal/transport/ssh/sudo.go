package ssh

// SudoGuard is a POSIX sh prelude for a script that runs as root under
// `sudo -n sh -c SCRIPT` (become: sudo). On cancel, Run asks sshd to signal
// the session's process group, but the login user may not signal root
// processes: if sudo dies without relaying the signal, the root script runs
// on. The guard, started first in the root script, waits for its parent
// (sudo) to go and then signals its own process group, i.e. the root script
// and everything it started: SIGTERM first, so the script's traps stop the
// agent and remove its --config file (which holds the secret), then SIGKILL
// two seconds later for whatever is left. The guard ignores SIGTERM itself so
// that it lives to send the SIGKILL. It holds no stdio, so a script that ends
// normally is not delayed.
//
// "sudo is gone" is read from /proc every second: while the root script
// lives, as "its parent is no longer sudo" (sudo died first: signal the group
// at once); once the script has ended, as "sudo has ended too". In that second
// case, which is also every normal end, the group still holds the processes
// above sudo: the login shell that ran it (sshd's session leader, the group's
// leader) exits with sudo's status a moment after sudo. A signal in that
// moment would turn the script's exit status into 143 (SIGTERM), so the guard
// first waits for the group's leader to end (a zombie counts as ended: its
// status is set). Without /proc, the guard waits for sudo with kill -0 and
// then signals the group only if the script still runs.
const SudoGuard = `__af_p=$PPID; ( trap "" TERM
__af_a() { read -r __af_s <"/proc/$1/stat" || return; set -- ${__af_s##*\)}; __af_pp=$2 __af_pg=$3; [ "$1" != Z ]; } 2>/dev/null
if [ -d /proc/self ]; then
while if __af_a $$; then [ "$__af_pp" = "$__af_p" ]; else __af_a "$__af_p"; fi; do sleep 1; done
if ! __af_a $$; then __af_a self; __af_g=$__af_pg; while [ "$__af_g" != $$ ] && __af_a "$__af_g"; do sleep 1; done; fi
else
while kill -0 "$__af_p"; do sleep 1; done 2>/dev/null
kill -0 $$ 2>/dev/null || exit
fi
kill -TERM 0; sleep 2; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &
`
