package winrmtest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
)

// Known answer from MS-NLMP 4.2.4.1.1 (NTOWFv2 of User/Domain/Password).
func TestNTOWFv2KnownAnswer(t *testing.T) {
	got := hex.EncodeToString(ntowfv2("Password", "User", "Domain"))
	if got != "0c868a403bfd7a93a3001ef22ef02e3f" {
		t.Fatalf("NTOWFv2 = %s", got)
	}
}

// Known answer from MS-NLMP 4.2.4.2.2: the NTLMv2 response of the spec's
// example must verify, and fail with another password.
func TestVerifyNTLMv2KnownAnswer(t *testing.T) {
	var challenge [8]byte
	copy(challenge[:], mustHex(t, "0123456789abcdef"))
	blob := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	blob = append(blob, make([]byte, 8)...)                            // time 0
	blob = append(blob, bytes.Repeat([]byte{0xaa}, 8)...)              // client challenge
	blob = append(blob, 0, 0, 0, 0)                                    //
	blob = append(blob, mustHex(t, "02000c0044006f006d00610069006e00"+ // NbDomainName "Domain"
		"01000c005300650072007600650072000000000000000000")...) // NbComputerName "Server", EOL, then 4 zero bytes
	proof := mustHex(t, "68cd0ab851e51c96aabc927bebef6a1c")
	m := &authenticateMessage{User: "User", Domain: "Domain", NT: append(proof, blob...)}
	if err := verifyNTLMv2(m, challenge, "user", "Password"); err != nil {
		t.Fatalf("spec example refused: %v", err)
	}
	if err := verifyNTLMv2(m, challenge, "user", "password"); err == nil {
		t.Fatal("wrong password accepted")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNTLMWithGoNtlmssp runs the handshake against the client library
// masterzen/winrm uses, end to end at the message level.
func TestNTLMWithGoNtlmssp(t *testing.T) {
	for _, tc := range []struct {
		name, clientUser, clientPw, serverUser string
		ok                                     bool
	}{
		{"plain", "arcfleet", "pw-1", "arcfleet", true},
		{"case-insensitive-user", "ArcFleet", "pw-1", "arcfleet", true},
		{"domain-user", `CORP\arcfleet`, "pw-1", `CORP\arcfleet`, true},
		{"upn", "arcfleet@corp.example", "pw-1", "arcfleet@corp.example", true},
		{"non-ascii-password", "arcfleet", "pässwörd✓", "arcfleet", true},
		{"wrong-password", "arcfleet", "pw-2", "arcfleet", false},
		{"wrong-user", "other", "pw-1", "arcfleet", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			neg, err := ntlmssp.NewNegotiateMessage("", "")
			if err != nil {
				t.Fatal(err)
			}
			if typ, err := ntlmMessageType(neg); err != nil || typ != 1 {
				t.Fatalf("negotiate: type %d %v", typ, err)
			}
			ch, challenge, err := newChallenge(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			auth, err := ntlmssp.NewAuthenticateMessage(ch, tc.clientUser, tc.clientPw, nil)
			if err != nil {
				t.Fatalf("client rejected our CHALLENGE: %v", err)
			}
			m, err := parseAuthenticate(auth)
			if err != nil {
				t.Fatal(err)
			}
			err = verifyNTLMv2(m, challenge, tc.serverUser, "pw-1")
			if tc.name == "non-ascii-password" {
				err = verifyNTLMv2(m, challenge, tc.serverUser, "pässwörd✓")
			}
			if (err == nil) != tc.ok {
				t.Fatalf("verify: %v, want ok=%v", err, tc.ok)
			}
			// Any flipped bit of the response, or another challenge, must fail.
			if tc.ok {
				bad := *m
				bad.NT = append([]byte(nil), m.NT...)
				bad.NT[len(bad.NT)-5] ^= 1
				if verifyNTLMv2(&bad, challenge, tc.serverUser, tc.clientPw) == nil {
					t.Fatal("tampered blob accepted")
				}
				other := challenge
				other[0] ^= 1
				if verifyNTLMv2(m, other, tc.serverUser, tc.clientPw) == nil {
					t.Fatal("response to another challenge accepted")
				}
			}
		})
	}
}

func TestParseAuthenticateRejects(t *testing.T) {
	valid := func() []byte {
		ch, _, _ := newChallenge(time.Now())
		b, err := ntlmssp.NewAuthenticateMessage(ch, "u", "p", nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"bad-signature", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"type-1", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 1); return b }},
		{"truncated", func(b []byte) []byte { return b[:40] }},
		{"field-out-of-range", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[24:], 1<<30); return b }},
		{"no-unicode", func(b []byte) []byte { b[60] &^= 1; return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseAuthenticate(tc.edit(valid())); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func FuzzParseAuthenticate(f *testing.F) {
	ch, _, _ := newChallenge(time.Unix(0, 0))
	auth, _ := ntlmssp.NewAuthenticateMessage(ch, `D\u`, "p", nil)
	f.Add(auth)
	f.Add([]byte("NTLMSSP\x00\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseAuthenticate(b)
		if err != nil {
			return
		}
		_ = verifyNTLMv2(m, [8]byte{}, "u", "p") // must not panic on any parsed message
	})
}
