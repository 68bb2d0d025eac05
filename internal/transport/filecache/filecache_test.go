package filecache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// concat is a parse that joins the files' contents; "bad" content fails.
func concat(data [][]byte) (string, error) {
	var b strings.Builder
	for i, d := range data {
		if string(d) == "bad" {
			return "", errors.New("bad content")
		}
		if i > 0 {
			b.WriteByte('|')
		}
		if d == nil {
			b.WriteString("<nil>")
		}
		b.Write(d)
	}
	return b.String(), nil
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// want checks the value Get returns and the parses done so far.
func want[T comparable](t *testing.T, c *Cache[T], v T, parses int) {
	t.Helper()
	got, err := c.Get()
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got != v || c.Parses() != parses {
		t.Fatalf("Get = %v after %d parses, want %v after %d", got, c.Parses(), v, parses)
	}
}

// TestChanges: real files, rewritten at once (so usually within one timestamp
// tick: the racy case), replaced, removed, broken.
func TestChanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	write(t, p, "one")
	c := New(concat, p)
	if c.Parses() != 0 {
		t.Fatal("New parsed")
	}
	want(t, c, "one", 1)
	want(t, c, "one", 1)
	write(t, p, "two") // same size, same tick most of the time
	want(t, c, "two", 2)
	want(t, c, "two", 2)
	write(t, p, "three")
	want(t, c, "three", 3)
	tmp := filepath.Join(dir, "tmp")
	write(t, tmp, "fours")
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	want(t, c, "fours", 4)
	write(t, p, "bad")
	for i := range 2 { // a failure is not cached: parsed again each time
		if _, err := c.Get(); err == nil || c.Parses() != 5+i {
			t.Fatalf("bad content: %v after %d parses", err, c.Parses())
		}
		if _, ok := c.Cached(); ok {
			t.Fatal("a failed parse left a value")
		}
	}
	os.Remove(p)
	var pe *fs.PathError
	if _, err := c.Get(); !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("removed file: %v, want *fs.PathError not found", err)
	}
	write(t, p, "five")
	want(t, c, "five", 7)
}

// TestOptional: a missing file reads as nil content; its creation, and its
// removal again, are changes.
func TestOptional(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "f")
	c := NewOptional(concat, p)
	want(t, c, "<nil>", 1)
	want(t, c, "<nil>", 1)
	write(t, p, "")
	want(t, c, "", 2)
	write(t, p, "x")
	want(t, c, "x", 3)
	os.Remove(p)
	want(t, c, "<nil>", 4)
}

// TestSeveralFiles: a change to any one file is a change.
func TestSeveralFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	write(t, a, "a1")
	write(t, b, "b1")
	c := New(concat, a, b)
	want(t, c, "a1|b1", 1)
	write(t, b, "b2")
	want(t, c, "a1|b2", 2)
	write(t, a, "a2")
	want(t, c, "a2|b2", 3)
	want(t, c, "a2|b2", 3)
}

// fakeFile is a file whose stamp the test sets: size and mtime only, as on
// platforms without the change time and inode.
type fakeFile struct {
	size  int64
	mtime time.Time
}

func (f fakeFile) Name() string       { return "f" }
func (f fakeFile) Size() int64        { return f.size }
func (f fakeFile) Mode() fs.FileMode  { return 0o600 }
func (f fakeFile) ModTime() time.Time { return f.mtime }
func (f fakeFile) IsDir() bool        { return false }
func (f fakeFile) Sys() any           { return nil }

// fakeFS serves one file whose content and stamp change independently, and
// counts reads.
type fakeFS struct {
	mu      sync.Mutex
	content string
	mtime   time.Time
	reads   int
}

func (f *fakeFS) set(content string, mtime time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.content, f.mtime = content, mtime
}

func (f *fakeFS) install(c *Cache[string]) {
	c.stat = func(string) (fs.FileInfo, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return fakeFile{int64(len(f.content)), f.mtime}, nil
	}
	c.read = func(string) ([]byte, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.reads++
		return []byte(f.content), nil
	}
}

func (f *fakeFS) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// TestRacyWindow: a rewrite with the same size and timestamps is seen while
// the file is younger than RacyWindow (its content is compared on each use);
// an older file with an unchanged stamp is trusted and not read at all.
func TestRacyWindow(t *testing.T) {
	t.Parallel()
	t.Run("recent file", func(t *testing.T) {
		t.Parallel()
		f := &fakeFS{}
		c := New(concat, "f")
		f.install(c)
		tick := time.Now() // the test has RacyWindow to do its three Gets
		f.set("aaa", tick)
		want(t, c, "aaa", 1)
		f.set("bbb", tick) // the same size and timestamp: only the content tells
		want(t, c, "bbb", 2)
		want(t, c, "bbb", 2) // read again, compared equal: not parsed again
		if f.readCount() != 3 {
			t.Errorf("%d reads, want 3 (each use of a recent file compares its content)", f.readCount())
		}
	})
	t.Run("old file", func(t *testing.T) {
		t.Parallel()
		f := &fakeFS{}
		c := New(concat, "f")
		f.install(c)
		old := time.Now().Add(-RacyWindow - time.Second)
		f.set("aaa", old)
		want(t, c, "aaa", 1)
		for range 3 {
			want(t, c, "aaa", 1)
		}
		if f.readCount() != 1 {
			t.Errorf("%d reads, want 1 (an old file with its stamp unchanged is not read)", f.readCount())
		}
		f.set("bbb", old.Add(time.Nanosecond))
		want(t, c, "bbb", 2)
	})
	t.Run("recent file becomes trusted", func(t *testing.T) {
		t.Parallel()
		f := &fakeFS{}
		c := New(concat, "f")
		f.install(c)
		// Changed 1 s inside the window: the first Get keeps the content,
		// one after the window has passed trusts the stamp.
		f.set("aaa", time.Now().Add(-RacyWindow+time.Second))
		want(t, c, "aaa", 1)
		time.Sleep(1500 * time.Millisecond)
		want(t, c, "aaa", 1) // read, compared, now trusted
		want(t, c, "aaa", 1)
		if f.readCount() != 2 {
			t.Errorf("%d reads, want 2", f.readCount())
		}
	})
}

// TestConcurrent: parallel users of one file parse it once, and see a change.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "f")
	write(t, p, "v1")
	c := New(func(data [][]byte) (string, error) {
		time.Sleep(20 * time.Millisecond) // a slow parse: the others must wait for it
		return string(data[0]), nil
	}, p)
	get := func() {
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				if _, err := c.Get(); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	get()
	want(t, c, "v1", 1)
	write(t, p, "v2")
	get()
	want(t, c, "v2", 2)
}

// TestAppended: a value kept current by the writer's own appends is not
// parsed again; an append from an unknown version drops it.
func TestAppended(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "f")
	write(t, p, "a\n")
	type lines struct{ n int }
	c := NewOptional(func(data [][]byte) (*lines, error) {
		return &lines{strings.Count(string(data[0]), "\n")}, nil
	}, p)
	appendLine := func(l *Locked[*lines], apply bool) {
		t.Helper()
		fh, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		before, _ := fh.Stat()
		if _, err := fh.WriteString("b\n"); err != nil {
			t.Fatal(err)
		}
		after, _ := fh.Stat()
		l.Appended(StampOf(before), StampOf(after), []byte("b\n"), func(v *lines) {
			if !apply {
				t.Error("apply called for an append to a version the cache does not hold")
			}
			v.n++
		})
	}
	l := c.Lock()
	v, err := l.Get()
	if err != nil || v.n != 1 {
		t.Fatalf("%v %v", v, err)
	}
	for range 5 {
		appendLine(l, true)
	}
	l.Unlock()
	v, err = c.Get()
	if err != nil || v.n != 6 || c.Parses() != 1 {
		t.Fatalf("after 5 own appends: %d lines, %d parses, %v; want 6, 1", v.n, c.Parses(), err)
	}
	// Someone else appended first: the cache does not hold "before".
	fh, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString("c\n")
	fh.Close()
	l = c.Lock()
	appendLine(l, false)
	if l.c.ok {
		t.Error("value kept after an append to an unknown version")
	}
	v, err = l.Get()
	l.Unlock()
	if err != nil || v.n != 8 || c.Parses() != 2 {
		t.Fatalf("after a foreign append: %d lines, %d parses, %v; want 8, 2", v.n, c.Parses(), err)
	}
}

func TestMap(t *testing.T) {
	t.Parallel()
	var m Map[string, *int]
	made := 0
	mk := func() *int { made++; return new(int) }
	a := m.Get("a", mk)
	if m.Get("a", mk) != a || made != 1 {
		t.Fatal("a second Get made a second value")
	}
	m.Get("b", mk)
	n := 0
	for range m.All() {
		n++
	}
	if n != 2 {
		t.Fatalf("All: %d values, want 2", n)
	}
}
