package results

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// A Masker grows: secrets added later are masked in every form, earlier ones
// still are, and adding one twice changes nothing.
func TestMaskerAdd(t *testing.T) {
	m := NewMasker([]string{"S3NT1NEL-first-secret"})
	tok := "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDB9.S3NT1NEL-token-sig"
	line := "a S3NT1NEL-first-secret b " + tok + " c " + hex.EncodeToString([]byte(tok)) + " d " + base64.StdEncoding.EncodeToString([]byte(tok))
	if got := m.Mask(line); !strings.Contains(got, tok) {
		t.Fatalf("masked a secret it was not given: %s", got)
	}
	m.Add(tok)
	got := m.Mask(line)
	if strings.Contains(got, "S3NT1NEL") || strings.Contains(got, hex.EncodeToString([]byte(tok))) {
		t.Fatalf("after Add: %s", got)
	}
	before := m.set.Load()
	m.Add(tok, "", "S3NT1NEL-first-secret")
	if m.set.Load() != before {
		t.Error("adding known or empty secrets made a new generation")
	}
	// Forms stay longest first, so a longer form is never split by a shorter one.
	f := m.set.Load().forms
	for i := 1; i < len(f); i++ {
		if len(f[i]) > len(f[i-1]) {
			t.Fatalf("forms not longest first at %d", i)
		}
	}
	var zero Masker
	if zero.Mask(tok) != tok || zero.Cut(tok) != len(tok) {
		t.Error("zero Masker masks")
	}
	zero.Add(tok)
	if zero.Mask(tok) != MaskToken {
		t.Error("zero Masker after Add")
	}
}

// Add while other goroutines mask: every secret added before a Mask call
// started is masked by it (run with -race).
func TestMaskerAddConcurrent(t *testing.T) {
	m := NewMasker(nil)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		sec := fmt.Sprintf("S3NT1NEL-token-%02d-abcdefgh", i)
		go func() {
			defer wg.Done()
			m.Add(sec)
			if got := m.Mask("x " + sec + " y"); got != "x "+MaskToken+" y" {
				t.Errorf("own secret not masked right after Add: %q", got)
			}
		}()
		go func() {
			defer wg.Done()
			_ = m.Cut(strings.Repeat("S3NT1NEL-token-", 4))
			_ = m.Mask("S3NT1NEL-token-00-abcdefgh")
		}()
	}
	wg.Wait()
	for i := range n {
		if sec := fmt.Sprintf("S3NT1NEL-token-%02d-abcdefgh", i); m.Mask(sec) != MaskToken {
			t.Errorf("%s lost", sec)
		}
	}
}
