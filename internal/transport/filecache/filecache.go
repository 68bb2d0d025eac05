// Package filecache keeps values parsed from files (known_hosts, identity
// files, TLS certificates and keys) for the life of a Dialer: each file set is
// read and parsed once, and again only when a file changes.
//
// A change is seen from the file's Stamp (size, modification and change time,
// device and inode), without reading the file. Timestamps are kernel ticks,
// or whole seconds on some file systems, so a file changed less than
// RacyWindow before it was read could change again with an equal stamp: until
// it is older, each use also compares the file's content with what was parsed
// (git's "racy git" rule).
package filecache

import (
	"bytes"
	"errors"
	"io/fs"
	"iter"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// RacyWindow: a file changed less than this before it was read may change
// again with the same stamp. It bounds the timestamp granularity of the file
// systems the files live on (one second on some), with a margin.
const RacyWindow = 2 * time.Second

// Stamp identifies a version of a file without reading it. The zero Stamp is
// a file that does not exist.
type Stamp struct {
	exists       bool
	size         int64
	mtime, ctime int64 // ns; ctime only where the platform reports it
	dev, ino     uint64
}

// changed is when the file last changed, as far as its stamp tells.
func (s Stamp) changed() time.Time { return time.Unix(0, max(s.mtime, s.ctime)) }

// Cache is a value parsed from a fixed list of files. It is safe for
// concurrent use; a load holds the cache's lock, so parallel users of a file
// parse it once.
type Cache[T any] struct {
	paths   []string
	parse   func(data [][]byte) (T, error)
	missing bool // a file that does not exist reads as empty (nil) content

	// stat and read are os.Stat and os.ReadFile; the package's tests replace them.
	stat func(string) (fs.FileInfo, error)
	read func(string) ([]byte, error)

	mu      sync.Mutex
	val     T
	ok      bool     // val holds a successful parse; failures are not cached
	stamps  []Stamp  // of the content val was parsed from
	trusted bool     // the stamps were older than RacyWindow when read: equal stamps, same content
	raw     [][]byte // that content, kept while not trusted
	parses  atomic.Int64
}

// New returns the cache of the value that parse makes of the files at paths;
// parse gets their contents in the same order. Nothing is read until Get.
// A file that does not exist is an error.
func New[T any](parse func(data [][]byte) (T, error), paths ...string) *Cache[T] {
	return &Cache[T]{paths: paths, parse: parse, stat: os.Stat, read: os.ReadFile}
}

// NewOptional is New for files that may not exist: such a file is given to
// parse as nil content (and its creation is a change like any other).
func NewOptional[T any](parse func(data [][]byte) (T, error), paths ...string) *Cache[T] {
	c := New(parse, paths...)
	c.missing = true
	return c
}

// Get returns the value, reading and parsing the files again only when one
// of them changed since the last parse. An error reading a file is returned as
// os.Stat and os.ReadFile return it (*fs.PathError); an error from parse is
// returned as it is. An error is not cached: the next Get tries again.
//
// The value is shared by every caller of Get: it must be safe for concurrent
// use or treated as read-only. A value changed in place (Locked.Appended) must
// be used under Lock instead.
func (c *Cache[T]) Get() (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.load()
}

// Parses is how many times parse was called (failed parses included).
func (c *Cache[T]) Parses() int { return int(c.parses.Load()) }

// Cached returns the value of the last successful parse, without looking at
// the files; ok is false when there is none.
func (c *Cache[T]) Cached() (v T, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.val, c.ok
}

func (c *Cache[T]) drop() {
	var zero T
	c.val, c.ok, c.stamps, c.raw = zero, false, nil, nil
}

// load is Get with mu held.
func (c *Cache[T]) load() (T, error) {
	var zero T
	now := time.Now() // before the stats: a change after it shows in the stamps
	stamps := make([]Stamp, len(c.paths))
	trusted := true
	for i, p := range c.paths {
		fi, err := c.stat(p)
		if err != nil {
			if c.missing && errors.Is(err, fs.ErrNotExist) {
				continue // the zero Stamp; creating the file changes it
			}
			c.drop()
			return zero, err
		}
		stamps[i] = StampOf(fi)
		trusted = trusted && now.Sub(stamps[i].changed()) > RacyWindow
	}
	same := c.ok && slices.Equal(stamps, c.stamps)
	if same && c.trusted {
		return c.val, nil
	}
	data := make([][]byte, len(c.paths))
	for i, p := range c.paths {
		if !stamps[i].exists {
			continue
		}
		b, err := c.read(p)
		if err != nil {
			if c.missing && errors.Is(err, fs.ErrNotExist) {
				stamps[i] = Stamp{} // removed since the stat
				same = false
				continue
			}
			c.drop()
			return zero, err
		}
		data[i] = b
	}
	if !same || !slices.EqualFunc(data, c.raw, bytes.Equal) {
		c.drop()
		c.parses.Add(1)
		v, err := c.parse(data)
		if err != nil {
			return zero, err
		}
		c.val, c.ok = v, true
	}
	c.stamps, c.trusted, c.raw = stamps, trusted, nil
	if !trusted {
		c.raw = data
	}
	return c.val, nil
}

// Lock locks the cache until Unlock, for a user that changes the cached
// value in place (Locked.Appended): Get, and other users of Lock, wait
// meanwhile.
func (c *Cache[T]) Lock() *Locked[T] {
	c.mu.Lock()
	return &Locked[T]{c}
}

// Locked is a locked Cache.
type Locked[T any] struct{ c *Cache[T] }

// Unlock ends the Lock.
func (l *Locked[T]) Unlock() { l.c.mu.Unlock() }

// Get is Cache.Get under the lock.
func (l *Locked[T]) Get() (T, error) { return l.c.load() }

// Drop forgets the value: the next Get parses the files again.
func (l *Locked[T]) Drop() { l.c.drop() }

// Appended records that the caller appended written to the cache's one file,
// taking it from stamp before to stamp after (both from a Stat of the file it
// wrote under a lock that other writers respect). When the cache holds the
// content of before, apply makes the same change to the value, which is
// then current for after; otherwise the value is dropped and the file parsed
// again on next use. Trust is kept as it was: a file old enough before the
// append is trusted after it, so a run that appends often does not compare
// the whole file on each use.
func (l *Locked[T]) Appended(before, after Stamp, written []byte, apply func(T)) {
	c := l.c
	if !c.ok || len(c.stamps) != 1 || c.stamps[0] != before {
		c.drop()
		return
	}
	apply(c.val)
	c.stamps[0] = after
	if c.raw != nil {
		c.raw[0] = append(c.raw[0], written...)
	}
}

// Map holds values made on first use by key, such as one Cache per file.
// It is safe for concurrent use.
type Map[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

// Get returns the value for k, storing mk() for it first if there is none.
func (m *Map[K, V]) Get(k K, mk func() V) V {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[k]
	if !ok {
		if m.m == nil {
			m.m = map[K]V{}
		}
		v = mk()
		m.m[k] = v
	}
	return v
}

// All iterates over a snapshot of the keys and values.
func (m *Map[K, V]) All() iter.Seq2[K, V] {
	m.mu.Lock()
	snap := maps.Clone(m.m)
	m.mu.Unlock()
	return maps.All(snap)
}
