package ssh

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strings"

	"github.com/arcfleet/arcfleet/internal/transport/filecache"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// x/crypto's knownhosts keeps a flat list, scans all of it on every check and
// has no lookup API, and arcfleet used to parse the file twice per dial: a
// fleet listed in one known_hosts file cost O(hosts²) (42 ms a dial at 10,000
// lines). khDB parses a file once and finds a host's lines through an index;
// its parsing and matching follow knownhosts v0.59 rule for rule (checked
// against it by TestKHDBMatchesKnownhosts and FuzzKHDB). Hashed entries and
// wildcard patterns cannot be indexed: they are matched on every lookup.

// khPattern is one comma-separated host pattern of a line.
type khPattern struct {
	negate     bool
	host, port string
}

// khLine is one parsed known_hosts line (not @revoked ones).
type khLine struct {
	cert   bool        // @cert-authority
	hashed *khHashed   // |1|salt|hash; nil for patterns
	pats   []khPattern // when not hashed
	known  knownhosts.KnownKey
}

type khHashed struct{ salt, hash []byte }

// khDB is the indexed content of one known_hosts file.
type khDB struct {
	file    string
	lines   []khLine
	byAddr  map[string][]int32 // addrKey of a literal positive pattern -> indexes into lines, ascending
	scan    []int32            // lines matched against every address (hashed, wildcard), ascending
	revoked map[string]*knownhosts.KnownKey
	nlines  int // lines read, so an appended line is number nlines+1

	valid        int
	firstErr     error
	firstErrLine int
}

func addrKey(host, port string) string { return host + "\x00" + port }

func newKHDB(file string) *khDB {
	return &khDB{file: file, byAddr: map[string][]int32{}, revoked: map[string]*knownhosts.KnownKey{}}
}

// parseKHDB reads data as knownhosts.New reads a file: bad lines are skipped,
// but a file with bad lines and no good one is an error.
func parseKHDB(file string, data []byte) (*khDB, error) {
	db := newKHDB(file)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		db.add(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read known_hosts %s: %w", file, err)
	}
	if err := db.err(); err != nil {
		return nil, err
	}
	return db, nil
}

func (db *khDB) err() error {
	if db.valid == 0 && db.firstErr != nil {
		return fmt.Errorf("read known_hosts %s: knownhosts: %s: no valid entries, line %d: %v", db.file, db.file, db.firstErrLine, db.firstErr)
	}
	return nil
}

// add parses the next line of the file.
func (db *khDB) add(line []byte) {
	db.nlines++
	n := db.nlines
	line = bytes.Trim(line, " \t")
	if len(line) == 0 || line[0] == '#' {
		return
	}
	if err := db.addLine(line, n); err != nil {
		if db.firstErr == nil {
			db.firstErr, db.firstErrLine = err, n
		}
		return
	}
	db.valid++
}

func (db *khDB) addLine(line []byte, n int) error {
	marker, pattern, key, err := parseKHLine(line)
	if err != nil {
		return err
	}
	kk := knownhosts.KnownKey{Key: key, Filename: db.file, Line: n}
	if marker == "@revoked" {
		db.revoked[plainKeyBlob(key)] = &kk
		return nil
	}
	l := khLine{cert: marker == "@cert-authority", known: kk}
	var keys []string
	if pattern[0] == '|' {
		if l.hashed, err = parseHashed(pattern); err != nil {
			return err
		}
	} else {
		if l.pats, err = parsePatterns(pattern); err != nil {
			return err
		}
		for _, p := range l.pats {
			if p.negate {
				continue
			}
			if strings.ContainsAny(p.host, "*?") {
				keys = nil
				break
			}
			keys = append(keys, addrKey(p.host, p.port))
		}
		if keys == nil && !slices.ContainsFunc(l.pats, func(p khPattern) bool { return !p.negate }) {
			// Only negations (or nothing): knownhosts never matches such a line.
			db.lines = append(db.lines, l)
			return nil
		}
	}
	i := int32(len(db.lines))
	db.lines = append(db.lines, l)
	if keys == nil {
		db.scan = append(db.scan, i)
		return nil
	}
	for _, k := range keys {
		if s := db.byAddr[k]; len(s) == 0 || s[len(s)-1] != i {
			db.byAddr[k] = append(s, i)
		}
	}
	return nil
}

// parseKHLine is knownhosts' parseLine.
func parseKHLine(line []byte) (marker, host string, key xssh.PublicKey, err error) {
	if w, next := nextWord(line); w == "@cert-authority" || w == "@revoked" {
		marker, line = w, next
	}
	host, line = nextWord(line)
	if len(host) > 0 && host[0] == '@' {
		return "", "", nil, fmt.Errorf("knownhosts: unexpected marker: %q", host)
	}
	if len(line) == 0 {
		return "", "", nil, errors.New("knownhosts: missing host pattern")
	}
	wantType, line := nextWord(line)
	if len(line) == 0 {
		return "", "", nil, errors.New("knownhosts: missing key type pattern")
	}
	blob, _ := nextWord(line)
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		return "", "", nil, err
	}
	if key, err = xssh.ParsePublicKey(raw); err != nil {
		return "", "", nil, err
	}
	if key.Type() != wantType {
		return "", "", nil, fmt.Errorf("knownhosts: key type mismatch: found %q, want %q", key.Type(), wantType)
	}
	return marker, host, key, nil
}

func nextWord(line []byte) (string, []byte) {
	i := bytes.IndexAny(line, "\t ")
	if i == -1 {
		return string(line), nil
	}
	return string(line[:i]), bytes.Trim(line[i:], " \t")
}

// parsePatterns is knownhosts' newHostnameMatcher.
func parsePatterns(pattern string) ([]khPattern, error) {
	var ps []khPattern
	for p := range strings.SplitSeq(pattern, ",") {
		if p == "" {
			continue
		}
		var hp khPattern
		if p[0] == '!' {
			hp.negate, p = true, p[1:]
		}
		if p == "" {
			return nil, errors.New("knownhosts: negation without following hostname")
		}
		var err error
		hp.host, hp.port, err = net.SplitHostPort(p)
		if err != nil {
			if p[0] == '[' {
				return nil, err
			}
			hp.host, hp.port = p, "22"
		}
		ps = append(ps, hp)
	}
	return ps, nil
}

// parseHashed is knownhosts' newHashedHost.
func parseHashed(encoded string) (*khHashed, error) {
	c := strings.Split(encoded, "|")
	if len(c) != 4 {
		return nil, fmt.Errorf("knownhosts: got %d components, want 3", len(c))
	}
	salt, err := base64.StdEncoding.DecodeString(c[2])
	if err != nil {
		return nil, err
	}
	hash, err := base64.StdEncoding.DecodeString(c[3])
	if err != nil {
		return nil, err
	}
	if c[1] != "1" {
		return nil, fmt.Errorf("knownhosts: got hash type %s, must be '1'", c[1])
	}
	return &khHashed{salt: salt, hash: hash}, nil
}

// wildcardMatch is OpenSSH's match: * spans anything, separators included.
func wildcardMatch(pat, s string) bool {
	for {
		if pat == "" {
			return s == ""
		}
		if s == "" {
			return false
		}
		if pat[0] == '*' {
			if len(pat) == 1 {
				return true
			}
			for j := range s {
				if wildcardMatch(pat[1:], s[j:]) {
					return true
				}
			}
			return false
		}
		if pat[0] != '?' && pat[0] != s[0] {
			return false
		}
		pat, s = pat[1:], s[1:]
	}
}

// khAddr is an address being looked up, with what hashed lines compare.
type khAddr struct {
	host, port string
	hashName   []byte // knownhosts.Normalize of host:port, computed once per lookup
}

func newKHAddr(host, port string) khAddr {
	h := host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return khAddr{host: host, port: port, hashName: []byte(knownhosts.Normalize(h + ":" + port))}
}

func (l *khLine) match(a khAddr) bool {
	if l.hashed != nil {
		mac := hmac.New(sha1.New, l.hashed.salt)
		mac.Write(a.hashName)
		return bytes.Equal(mac.Sum(nil), l.hashed.hash)
	}
	matched := false
	for _, p := range l.pats {
		if p.port != a.port || !wildcardMatch(p.host, a.host) {
			continue
		}
		if p.negate {
			return false
		}
		matched = true
	}
	return matched
}

// each calls fn with the lines that match a, in file order, until fn returns false.
func (db *khDB) each(a khAddr, fn func(*khLine) bool) {
	idx, scan := db.byAddr[addrKey(a.host, a.port)], db.scan
	for len(idx) > 0 || len(scan) > 0 {
		var i int32
		if len(scan) == 0 || len(idx) > 0 && idx[0] < scan[0] {
			i, idx = idx[0], idx[1:]
		} else {
			i, scan = scan[0], scan[1:]
		}
		if l := &db.lines[i]; l.match(a) && !fn(l) {
			return
		}
	}
}

// known lists the lines for hostport (knownhosts' KeyError.Want for a key
// that is not on file).
func (db *khDB) known(hostport string) []knownhosts.KnownKey {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil
	}
	var out []knownhosts.KnownKey
	db.each(newKHAddr(host, port), func(l *khLine) bool { out = append(out, l.known); return true })
	return out
}

// callback is knownhosts.New's HostKeyCallback over db.
func (db *khDB) callback(hostname string, remote net.Addr, key xssh.PublicKey) error {
	cc := xssh.CertChecker{IsHostAuthority: db.isHostAuthority, IsRevoked: db.isRevoked, HostKeyFallback: db.check}
	return cc.CheckHostKey(hostname, remote, key)
}

func (db *khDB) check(address string, remote net.Addr, key xssh.PublicKey) error {
	if r := db.revoked[plainKeyBlob(key)]; r != nil {
		return &knownhosts.RevokedError{Revoked: *r}
	}
	host, port, err := net.SplitHostPort(remote.String())
	if err != nil {
		return fmt.Errorf("knownhosts: SplitHostPort(%s): %v", remote, err)
	}
	if address != "" {
		if host, port, err = net.SplitHostPort(address); err != nil {
			return fmt.Errorf("knownhosts: SplitHostPort(%s): %v", address, err)
		}
	}
	ke := &knownhosts.KeyError{}
	found := false
	blob := key.Marshal()
	db.each(newKHAddr(host, port), func(l *khLine) bool {
		ke.Want = append(ke.Want, l.known)
		found = bytes.Equal(l.known.Key.Marshal(), blob)
		return !found
	})
	if found {
		return nil
	}
	return ke
}

func (db *khDB) isHostAuthority(auth xssh.PublicKey, address string) bool {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	blob, ok := auth.Marshal(), false
	db.each(newKHAddr(host, port), func(l *khLine) bool {
		ok = l.cert && bytes.Equal(l.known.Key.Marshal(), blob)
		return !ok
	})
	return ok
}

func (db *khDB) isRevoked(c *xssh.Certificate) bool {
	return db.revoked[plainKeyBlob(c)] != nil || db.revoked[plainKeyBlob(c.SignatureKey)] != nil
}

// plainKeyBlob is the key's wire form; for a certificate, the certified key's.
func plainKeyBlob(k xssh.PublicKey) string {
	if c, ok := k.(*xssh.Certificate); ok {
		return string(c.Key.Marshal())
	}
	return string(k.Marshal())
}

// khFile is one known_hosts file of a Dialer: parsed once, parsed again when
// it changes (filecache), and kept current by the Dialer's own accept-new
// appends, which change the db in place: every use of the db holds the
// cache's lock. A missing file is an empty one (every host unknown).
type khFile struct {
	path  string
	cache *filecache.Cache[*khDB]
}

// knownHostsCache holds the Dialer's known_hosts files by path.
type knownHostsCache struct {
	files filecache.Map[string, *khFile]
}

func (c *knownHostsCache) file(path string) *khFile {
	return c.files.Get(path, func() *khFile {
		return &khFile{path: path, cache: filecache.NewOptional(func(data [][]byte) (*khDB, error) {
			return parseKHDB(path, data[0])
		}, path)}
	})
}

// current returns the file's db, parsing the file again if it changed.
func (f *khFile) current(l *filecache.Locked[*khDB]) (*khDB, error) {
	db, err := l.Get()
	if err != nil {
		if errors.As(err, new(*fs.PathError)) {
			return nil, fmt.Errorf("read known_hosts %s: %w", f.path, err)
		}
		return nil, err // parseKHDB's, which names the file
	}
	return db, nil
}

// known lists the lines on file for hostport.
func (f *khFile) known(hostport string) ([]knownhosts.KnownKey, error) {
	l := f.cache.Lock()
	defer l.Unlock()
	db, err := f.current(l)
	if err != nil {
		return nil, err
	}
	return db.known(hostport), nil
}

// check verifies key as knownhosts.New(path) would.
func (f *khFile) check(hostname string, remote net.Addr, key xssh.PublicKey) error {
	l := f.cache.Lock()
	defer l.Unlock()
	db, err := f.current(l)
	if err != nil {
		return err
	}
	return db.callback(hostname, remote, key)
}
