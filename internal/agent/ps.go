package agent

import (
	"fmt"
	"strings"
)

// The PowerShell half of the host-side protocol (hostlock.go). What differs
// from Linux, and why:
//   - The lock is the file %ProgramData%\arcfleet\lock opened with no sharing
//     by the step's PowerShell; Windows releases it when that process ends,
//     however it ends. The agent is its child: WinRM terminates a shell's
//     processes together (job object) when the shell is deleted.
//   - The watchdog is a scheduled task, not a child process: a child would be
//     terminated with the shell's other processes when WinRM deletes the shell,
//     while a controller that vanished without deleting it leaves the shell
//     running until WinRM's idle timeout (hours). The task, registered before
//     the config is written, kills the step's process tree at its deadline
//     (checking the process's start time, so a reused PID is left alone),
//     removes the private directory and unregisters itself; a step that ends
//     normally unregisters it.
//   - No signals: the stop step kills the step's process tree at once
//     (taskkill /T /F) and removes the directory.
// PowerShell variable names ignore case: every name here is distinct from the
// step script's ($A agent, $B/$L log, $D dir, $E stderr, $F config, $T temp,
// $R exit, $Y ACL...), which is why some are longer than one letter; $K (the
// lease) once doubled as connect's PEM ($k), which made the lease $M plus a
// StringBuilder. TestWindowsScriptsSpellEachVariableOneWay (ps_vars_test.go)
// refuses a name spelled two ways in any rendered Windows step.
// The WinRM test server cannot run PowerShell: these scripts are reviewed, not
// run, here (README, "What the tests cannot show").

// psHeader reads the stdin header into $I (run), $W (watchdog s), $K (lease s),
// $seen (last-step record the probe saw), $want (the precondition, step.go).
const psHeader = "$task=$null;$h=[Console]::In.ReadLine();if(!$h){$h='a - 900 0 - -'};$null,$I,$W,$K,$seen,$want=$h.Split(' ')\n$S=\"$env:ProgramData\\arcfleet\";$O=\"$S\\owner\";$N=[DateTimeOffset]::Now.ToUnixTimeSeconds()\n"

// psLease: another run's live lease (its until time not passed).
// Or an installation a stopped install step left running (InstallerRunning).
const psLease = "$own=\"$(gc -LiteralPath $O -EA 0)\";$busy=$own -notmatch \"run=$I \" -and $own -match 'until=(\\d+)' -and [long]$Matches[1] -gt $N\n" + psInstallerBusy

// psProbeLock: the probe's view of the lock, the lease and the last step.
func psProbeLock(b *strings.Builder) {
	b.WriteString(psHeader + psLease)
	fmt.Fprintf(b, "if(Test-Path -LiteralPath \"$S\\lock\"){try{([IO.File]::Open(\"$S\\lock\",'Open','Read','None')).Close()}catch{$busy=1}}\nif($busy){'%s'+$own}\n", BusyMarker)
	fmt.Fprintf(b, "if(Test-Path -LiteralPath \"$S\\last\"){'%s'+(gc -LiteralPath \"$S\\last\")}\n", LastMarker)
}

// psLockAction takes the lock for an action step, refuses another run's lease
// or a host changed since the probe, and records the owner.
func psLockAction(b *strings.Builder, step string) {
	b.WriteString(psHeader)
	// Inheritable: the agent holds the lock too, as on Linux. Only a sharing or
	// lock violation (Win32 32, 33) means busy.
	fmt.Fprintf(b, "try{[void][IO.Directory]::CreateDirectory($S);$X=[IO.File]::Open(\"$S\\lock\",'OpenOrCreate','ReadWrite','Inheritable')}catch{$ex=$_.Exception;while($ex.InnerException){$ex=$ex.InnerException};if(($ex.HResult -band 0xFFFF) -in 32,33){$E.WriteLine('%s'+(gc -LiteralPath $O -EA 0))}else{$E.WriteLine('%sstate-dir-failed');$E.WriteLine($S)};exit %s}\n",
		BusyMarker, ErrorMarker, exitSetup)
	b.WriteString(psLease)
	fmt.Fprintf(b, "if($busy){$E.WriteLine('%s'+$own);exit %s}\n", BusyMarker, exitSetup)
	fmt.Fprintf(b, "$lst=\"$(gc -LiteralPath \"$S\\last\" -EA 0)\";if($lst -match '^run=(\\S+) .*at=(\\d+)' -and $Matches[1] -ne $I -and $seen -ne '?' -and \"$($Matches[1])@$($Matches[2])\" -ne $seen){$E.WriteLine('%schanged since the probe: '+$lst);exit %s}\n", BusyMarker, exitSetup)
	if step == StepConnect {
		psPrecondition(b)
	}
	fmt.Fprintf(b, "sc -LiteralPath $O \"run=$I step=%s pid=$PID since=$N until=$($N+$W)\"\n", step)
}

// psPrecondition is sh.go's shPrecondition for Windows: `show --json` under
// the lock, bounded by the watchdog's time (no watchdog task exists yet),
// printed, and parsed: the step goes on only when status is Disconnected and
// resourceId is present and empty. Anything else refuses before the owner
// record is written (the lock goes with the process).
func psPrecondition(b *strings.Builder) {
	b.WriteString("if($want -eq '" + ExpectUnregistered + "'){$why='';$sj=''\n")
	b.WriteString("$si=New-Object Diagnostics.ProcessStartInfo;$si.FileName=$A;$si.Arguments='show --json';$si.UseShellExecute=$false;$si.RedirectStandardInput=$true;$si.RedirectStandardOutput=$true;$si.RedirectStandardError=$true\n")
	b.WriteString("try{$pq=[Diagnostics.Process]::Start($si);$pq.StandardInput.Close();$ot=$pq.StandardOutput.ReadToEndAsync();$null=$pq.StandardError.ReadToEndAsync()\n")
	b.WriteString("if($pq.WaitForExit([int]$W*1000)){$pq.WaitForExit();$sj=$ot.Result;if($pq.ExitCode -ne 0){$why=\"show: exit $($pq.ExitCode)\"}}else{try{$pq.Kill()}catch{};$why='show: timed out'}}catch{$why='show: '+$_.Exception.GetType().Name}\n")
	fmt.Fprintf(b, "'%s';$sj.TrimEnd();'%s'\nif(Test-Path -LiteralPath \"$S\\last\"){'%s'+(gc -LiteralPath \"$S\\last\")}\n", ShowMarker, ShowEndMarker, LastMarker)
	fmt.Fprintf(b, "if($sj -notmatch '\"agentVersion\"'){'%s'+(& $A version 2>$null|Select-Object -First 1)}\n", AgentVersionMarker)
	b.WriteString("$js=$null;try{$js=$sj|ConvertFrom-Json}catch{}\n")
	b.WriteString("if(!$why){if(!$js){$why='no JSON'}else{if($js.status -cne 'Disconnected'){$why='status'};if(-not $js.PSObject.Properties['resourceId'] -or $js.resourceId -ne ''){$why+=' resourceId'}}}\n")
	fmt.Fprintf(b, "if($why){$E.WriteLine('%sexpected %s, show --json differs ('+$why.Trim()+')');$X.Close();exit %d}}\n", StateChangedMarker, ExpectUnregistered, ExitStateChanged)
}

// psWatchdog registers the scheduled task that bounds the step by $W seconds.
func psWatchdog(b *strings.Builder) {
	b.WriteString("$task=\"arcfleet-$PID\";$st=(Get-Process -Id $PID).StartTime.Ticks\n")
	b.WriteString("$wd=\"if((Get-Process -Id $PID -EA 0).StartTime.Ticks -eq $st){taskkill /T /F /PID $PID};rd -LiteralPath '$($D -replace \"'\",\"''\")' -Recurse -Force -EA 0;Unregister-ScheduledTask -TaskName $task -Confirm:`$false\"\n")
	// Settings: the defaults would skip a laptop on battery and a missed start.
	fmt.Fprintf(b, "try{Register-ScheduledTask -TaskName $task -Action (New-ScheduledTaskAction powershell.exe \"-NoProfile -EncodedCommand $([Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($wd)))\") -Trigger (New-ScheduledTaskTrigger -Once -At (Get-Date).AddSeconds([int]$W)) -Settings (New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable) -User SYSTEM -Force|Out-Null}catch{$E.WriteLine('%swatchdog-failed');$E.WriteLine($_);%s}\n",
		ErrorMarker, psExit(ExitSetupFailed))
}

// psExit ends an action step inside its try with code: $R first, which the
// finally records (psEnd's exit=$R), so the last-step record holds the code
// the process exits with.
func psExit(code int) string { return fmt.Sprintf("$R=%d;exit %d", code, code) }

// psEnd records the end and releases the lease, the watchdog and the lock.
func psEnd(step string) string { return psEndMark(step, "") }

// psEndMark is psEnd with more for the owner record (PowerShell text inside
// its double quotes): the install step's InstallerRunning while msiexec may
// still work.
func psEndMark(step, mark string) string {
	return fmt.Sprintf("if($task){Unregister-ScheduledTask -TaskName $task -Confirm:$false -EA 0};$M=[DateTimeOffset]::Now.ToUnixTimeSeconds();sc -LiteralPath \"$S\\last\" \"run=$I step=%s exit=$R at=$M\";sc -LiteralPath $O \"run=$I step=%s pid= since=$M until=$($M+$K)%s\";$X.Close()", step, step, mark)
}

// psStop: the stop step (stdin "PID GROUP DIR"; the directory may hold
// spaces). It ends the step's process tree only if that PID is still one of
// arcfleet's loaders (a reused PID is left alone), and unregisters the step's
// watchdog only once nothing is left.
func psStop(b *strings.Builder) {
	fmt.Fprintf(b, "$Z,$G,$D=[Console]::In.ReadLine().Split(' ',3)\nif($D -notmatch '\\\\arcfleet\\.[0-9]+\\.'){[Console]::Error.WriteLine('%sbad-stop-input');exit %s}\n", ErrorMarker, exitSetup)
	b.WriteString("$p={Get-CimInstance Win32_Process -Filter \"ProcessId=$Z\" -EA 0|?{$_.CommandLine -like '*-EncodedCommand*'}}\nif(&$p){taskkill /T /F /PID $Z|Out-Null;Start-Sleep 1}\n")
	b.WriteString("rd -LiteralPath $D -Recurse -Force -EA 0\n")
	fmt.Fprintf(b, "if(&$p){'%srunning pid '+$Z;exit 1}\n", StopMarker)
	// An installation the step started goes on in the Windows Installer
	// service after the step is gone (InstallerRunning): not clean yet. Said
	// before a directory left behind, which that service may be what holds
	// (the .msi being installed): the verdict is the last marker line.
	b.WriteString("$own=\"$(gc -LiteralPath \"$env:ProgramData\\arcfleet\\owner\" -EA 0)\";$busy=$null\n" + psInstallerBusy)
	fmt.Fprintf(b, "$lf=Test-Path -LiteralPath $D\nif($busy){'%s%s: the installation the step started goes on in its service'+$(if($lf){'; left '+$D}else{''});exit 1}\nif($lf){'%sleft '+$D;exit 1}\n", StopMarker, StopInstallerRunning, StopMarker)
	fmt.Fprintf(b, "Unregister-ScheduledTask -TaskName \"arcfleet-$Z\" -Confirm:$false -EA 0\n'%sclean'\n", StopMarker)
}
