package winrmtest

// The server side of NTLMv2 (MS-NLMP): the server answers a NEGOTIATE message
// with a CHALLENGE carrying a fresh 8-byte server challenge, then checks the
// AUTHENTICATE message's NTLMv2 response against the configured password.
// Only authentication is implemented: no signing, sealing or key exchange,
// which is also all that masterzen/winrm's client (go-ntlmssp) does.

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

var ntlmSignature = []byte("NTLMSSP\x00")

// Negotiate flags (MS-NLMP 2.2.2.5) the challenge offers.
const (
	flagUnicode         = 1 << 0
	flagRequestTarget   = 1 << 2
	flagNTLM            = 1 << 9
	flagAlwaysSign      = 1 << 15
	flagTargetTypeSrv   = 1 << 17
	flagExtendedSession = 1 << 19
	flagTargetInfo      = 1 << 23
	flag128             = 1 << 29
	flag56              = 1 << 31
)

// AV pair ids (MS-NLMP 2.2.2.1).
const (
	avEOL          = 0
	avNbComputer   = 1
	avNbDomain     = 2
	avDNSComputer  = 3
	avTimestamp    = 7
	ntlmTargetName = "WINRMTEST"
)

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16le(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", errors.New("odd-length UTF-16 string")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// ntlmMessageType checks the signature and returns the message type (1, 2 or 3).
func ntlmMessageType(b []byte) (uint32, error) {
	if len(b) < 12 || string(b[:8]) != string(ntlmSignature) {
		return 0, errors.New("not an NTLMSSP message")
	}
	return binary.LittleEndian.Uint32(b[8:12]), nil
}

// newChallenge builds a CHALLENGE message (MS-NLMP 2.2.1.2) with a random server challenge.
func newChallenge(now time.Time) (msg []byte, challenge [8]byte, err error) {
	if _, err := rand.Read(challenge[:]); err != nil {
		return nil, challenge, err
	}
	target := utf16le(ntlmTargetName)
	var info []byte
	av := func(id uint16, v []byte) {
		info = binary.LittleEndian.AppendUint16(info, id)
		info = binary.LittleEndian.AppendUint16(info, uint16(len(v)))
		info = append(info, v...)
	}
	av(avNbDomain, target)
	av(avNbComputer, target)
	av(avDNSComputer, utf16le("winrmtest.local"))
	ft := uint64(now.UnixNano()/100) + 116444736000000000 // FILETIME: 100 ns since 1601
	av(avTimestamp, binary.LittleEndian.AppendUint64(nil, ft))
	av(avEOL, nil)

	const headerLen = 48
	flags := uint32(flagUnicode | flagRequestTarget | flagNTLM | flagAlwaysSign | flagTargetTypeSrv |
		flagExtendedSession | flagTargetInfo | flag128 | flag56)
	msg = make([]byte, headerLen, headerLen+len(target)+len(info))
	copy(msg, ntlmSignature)
	binary.LittleEndian.PutUint32(msg[8:], 2)
	putVarField(msg[12:], len(target), headerLen)
	binary.LittleEndian.PutUint32(msg[20:], flags)
	copy(msg[24:32], challenge[:])
	putVarField(msg[40:], len(info), headerLen+len(target))
	msg = append(msg, target...)
	msg = append(msg, info...)
	return msg, challenge, nil
}

func putVarField(b []byte, n, off int) {
	binary.LittleEndian.PutUint16(b[0:], uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(off))
}

// varField reads a (len, maxlen, offset) field at b[at:] and returns the
// payload it points to, refusing fields that run past the message.
func varField(b []byte, at int) ([]byte, error) {
	if at+8 > len(b) {
		return nil, errors.New("truncated NTLM message")
	}
	n := uint64(binary.LittleEndian.Uint16(b[at:]))
	off := uint64(binary.LittleEndian.Uint32(b[at+4:]))
	if off+n > uint64(len(b)) {
		return nil, fmt.Errorf("NTLM field at %d points outside the message", at)
	}
	return b[off : off+n], nil
}

// authenticateMessage is the part of an AUTHENTICATE message (MS-NLMP 2.2.1.3) the server checks.
type authenticateMessage struct {
	NT          []byte
	User        string
	Domain      string
	Workstation string
	Flags       uint32
}

func parseAuthenticate(b []byte) (*authenticateMessage, error) {
	typ, err := ntlmMessageType(b)
	if err != nil {
		return nil, err
	}
	if typ != 3 {
		return nil, fmt.Errorf("NTLM message type %d, want 3 (AUTHENTICATE)", typ)
	}
	if len(b) < 64 {
		return nil, errors.New("truncated NTLM AUTHENTICATE message")
	}
	m := &authenticateMessage{Flags: binary.LittleEndian.Uint32(b[60:])}
	if m.Flags&flagUnicode == 0 {
		return nil, errors.New("NTLM AUTHENTICATE without UNICODE is not supported")
	}
	if m.NT, err = varField(b, 20); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		at  int
		dst *string
	}{{28, &m.Domain}, {36, &m.User}, {44, &m.Workstation}} {
		raw, err := varField(b, f.at)
		if err != nil {
			return nil, err
		}
		if *f.dst, err = fromUTF16le(raw); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ntowfv2 is NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5(MD4(UTF16LE(password)), UTF16LE(upper(user)+domain)).
func ntowfv2(password, user, domain string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	mac := hmac.New(md5.New, h.Sum(nil))
	mac.Write(utf16le(strings.ToUpper(user) + domain))
	return mac.Sum(nil)
}

// verifyNTLMv2 checks m's NTLMv2 response to challenge against the password
// of wantUser ("user" or "DOMAIN\user"; the user part is compared without case).
func verifyNTLMv2(m *authenticateMessage, challenge [8]byte, wantUser, password string) error {
	if _, u, ok := strings.Cut(wantUser, `\`); ok {
		wantUser = u
	}
	if !strings.EqualFold(m.User, wantUser) {
		return fmt.Errorf("unknown user %q", m.User)
	}
	// NTProofStr (16) then the blob: 1, 1, 6 zero bytes, timestamp, client challenge, ...
	if len(m.NT) < 16+28 {
		return errors.New("not an NTLMv2 response (NTLMv1 is refused)")
	}
	proof, blob := m.NT[:16], m.NT[16:]
	if blob[0] != 1 || blob[1] != 1 {
		return errors.New("bad NTLMv2 blob version")
	}
	mac := hmac.New(md5.New, ntowfv2(password, m.User, m.Domain))
	mac.Write(challenge[:])
	mac.Write(blob)
	if !hmac.Equal(mac.Sum(nil), proof) {
		return errors.New("wrong password")
	}
	return nil
}
