package ssh_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcfleet/arcfleet/internal/transport"
	"github.com/arcfleet/arcfleet/internal/transport/ssh"
	"github.com/arcfleet/arcfleet/testbed/sshtest"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// BenchmarkDialKnownHosts: one SSH dial (strict host-key checking, an
// in-process server) with a known_hosts file of 100, 1,000 and 10,000 lines,
// as when a whole fleet is listed in one file. ns/op is a dial once the
// Dialer holds the file (it should not grow with the file); first-dial-ms is
// the first dial, which parses it.
func BenchmarkDialKnownHosts(b *testing.B) {
	dir := b.TempDir()
	key, err := sshtest.WriteKey(filepath.Join(dir, "id"), "")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := sshtest.NewServer(sshtest.ServerConfig{AuthorizedKeys: []xssh.PublicKey{key.PublicKey()}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	sizes := []int{100, 1000, 10000}
	files := map[int]string{}
	old := time.Now().Add(-time.Hour)
	for _, n := range sizes {
		var kh strings.Builder
		for i := 1; i < n; i++ { // other hosts before it: same key type, other ports
			kh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(fmt.Sprintf("127.0.0.2:%d", 1024+i))}, srv.HostKey()) + "\n")
		}
		kh.WriteString(srv.KnownHostsLine() + "\n")
		files[n] = filepath.Join(dir, fmt.Sprintf("known_hosts.%d", n))
		if err := os.WriteFile(files[n], []byte(kh.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(files[n], old, old); err != nil {
			b.Fatal(err)
		}
	}
	// A file changed within the last seconds is compared byte for byte on
	// each use (filecache.RacyWindow); a real known_hosts file is older. Chtimes set
	// the change time to now.
	time.Sleep(2100 * time.Millisecond)
	for _, n := range sizes {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			tgt := transport.Target{Name: "h", Address: srv.Host(), Port: srv.Port(), Protocol: "ssh", User: "u",
				IdentityFile: filepath.Join(dir, "id"), KnownHostsFile: files[n], HostKeyPolicy: ssh.PolicyStrict}
			d := &ssh.Dialer{}
			dialOnce := func() {
				c, err := d.Dial(context.Background(), tgt)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			start := time.Now()
			dialOnce()
			first := time.Since(start)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dialOnce()
			}
			b.ReportMetric(float64(first.Microseconds())/1000, "first-dial-ms")
		})
	}
}
