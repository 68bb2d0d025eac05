package results

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"
)

// TestMaskEncodings: the secret is masked in the encodings an agent, a wrapper
// or a debug dump may print it in, embedded at any offset of a longer stream.
func TestMaskEncodings(t *testing.T) {
	const sec = `S3NTINEL/s3cret+value=42"'&`
	utf16le := func(s string) []byte {
		u := utf16.Encode([]rune(s))
		b := make([]byte, 2*len(u))
		for i, c := range u {
			b[2*i], b[2*i+1] = byte(c), byte(c>>8)
		}
		return b
	}
	m := NewMasker([]string{sec})
	for pre := range 4 {
		prefix := strings.Repeat("x", pre)
		payload := prefix + `{"service-principal-secret":"` + sec + `","tenant-id":"t"}`
		cases := map[string]string{
			"plain":          payload,
			"upper":          strings.ToUpper(payload),
			"hex":            hex.EncodeToString([]byte(payload)),
			"HEX":            strings.ToUpper(hex.EncodeToString([]byte(payload))),
			"base64":         base64.StdEncoding.EncodeToString([]byte(payload)),
			"base64url":      base64.URLEncoding.EncodeToString([]byte(payload)),
			"rawbase64":      base64.RawStdEncoding.EncodeToString([]byte(payload)),
			"base64 utf16le": base64.StdEncoding.EncodeToString(utf16le(payload)),
			"url query":      url.QueryEscape(payload),
			"json in json":   jsonEscape(payload, false),
		}
		for name, text := range cases {
			got := m.Mask(text)
			if got == text {
				t.Errorf("offset %d, %s: nothing masked in %q", pre, name, text)
				continue
			}
			// Decoding what is left must not give the secret back.
			for _, dec := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, base64.URLEncoding.DecodeString, hex.DecodeString} {
				if b, err := dec(strings.ReplaceAll(got, MaskToken, "")); err == nil && strings.Contains(strings.ToLower(string(b)), strings.ToLower(sec)) {
					t.Errorf("offset %d, %s: the secret survives decoding of %q", pre, name, got)
				}
			}
			if strings.Contains(strings.ToLower(got), strings.ToLower(sec)) {
				t.Errorf("offset %d, %s: the secret is still in %q", pre, name, got)
			}
		}
	}
	// Short secrets do not turn into short encoded forms that mask innocent text.
	if got := NewMasker([]string{"ab"}).Mask("YWJj is base64 of abc"); !strings.Contains(got, "YWJj") {
		t.Errorf("a 2-byte secret masked an encoded core: %q", got)
	}
}
