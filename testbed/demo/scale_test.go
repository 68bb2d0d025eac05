package demo

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/results"
)

// scaleSize is the scale test's fleet size and concurrency. Under the race
// detector (make test) the SSH handshakes' crypto runs about 10 times slower:
// 500 at once on 2 cores then take longer than the 20 s handshake timeout, so
// it runs 1,000 hosts, 100 at once (about 20 s on 2 idle cores).
func scaleSize() (hosts, concurrency int) {
	if raceEnabled {
		return 1000, 100
	}
	return 10000, 500
}

// TestScale10000 applies connect to 10,000 in-process hosts (1,000 under
// -race) over real SSH and checks: every host ok, open files bounded by the
// concurrency, goroutines back to the baseline after the run, and the memory
// kept per finished host small.
func TestScale10000(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	n, conc := scaleSize()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	o := ScaleOptions("", filepath.Join(dir, "fleet"), n, 10*time.Millisecond)
	o.InProcessAgent, o.PinHostKey = true, true
	f, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	runtime.GC()
	baseFDs, baseG := openFDs(t), runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// Sample open files and goroutines while the run goes on.
	var peakFDs, peakG atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if v := int64(openFDs(t)); v > peakFDs.Load() {
					peakFDs.Store(v)
				}
				if v := int64(runtime.NumGoroutine()); v > peakG.Load() {
					peakG.Store(v)
				}
			}
		}
	}()
	start := time.Now()
	_, rep, err := f.Run(ctx, RunOptions{RunDir: filepath.Join(dir, "run"), Concurrency: conc})
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d hosts, concurrency %d: %v; open files %d -> peak %d; goroutines %d -> peak %d", n, conc, took, baseFDs, peakFDs.Load(), baseG, peakG.Load())

	if s := Summary(rep); s[results.OutcomeOK] != n {
		t.Fatalf("outcomes %v, want %d ok; first problems: %v", s, n, firstDiffs(f.Check(rep), 5))
	}
	// Per host in flight: the client socket, the server socket (in-process),
	// the attempt log; plus the journal and a margin.
	if extra := peakFDs.Load() - int64(baseFDs); extra > int64(3*conc+64) {
		t.Errorf("open files grew by %d during the run, more than 3 per host in flight (%d) + 64", extra, conc)
	}
	if extra := peakG.Load() - int64(baseG); extra > int64(40*conc) {
		t.Errorf("goroutines grew by %d during the run: not bounded by concurrency %d", extra, conc)
	}
	// Afterwards: back to the baseline (connections closed, no stray goroutines).
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseG+20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > baseG+20 {
		t.Errorf("%d goroutines after the run, %d before", g, baseG)
	}
	if fds := openFDs(t); fds > baseFDs+8 {
		t.Errorf("%d open files after the run, %d before", fds, baseFDs)
	}
	// What stays per finished host while the report is alive: its result.
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perHost := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / int64(n)
	t.Logf("heap kept per finished host: %d bytes", perHost)
	if perHost > 16<<10 {
		t.Errorf("%d bytes of heap kept per finished host; logs must go to disk, not memory", perHost)
	}
	runtime.KeepAlive(rep)
}

func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	return len(ents)
}

func firstDiffs(d []string, n int) []string {
	if len(d) > n {
		return d[:n]
	}
	return d
}
