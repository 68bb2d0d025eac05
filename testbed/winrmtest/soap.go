package winrmtest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// XML namespaces of WS-Management and the Windows shell (MS-WSMV 2.2.1).
const (
	nsSoap   = "http://www.w3.org/2003/05/soap-envelope"
	nsAddr   = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWsman  = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsShell  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	nsXfer   = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	nsFault  = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
	nsMsWsm  = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
	anonAddr = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

	resourceCmd = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"

	actionCreate  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	actionDelete  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	actionCommand = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	actionSignal  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"
	actionSend    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
	actionReceive = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
	actionFault   = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

	signalTerminate = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"
	signalCtrlC     = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c"
	signalCtrlBreak = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_break"

	stateDone    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
	stateRunning = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"

	// codeOperationTimeout is the WSManFault code of a Receive that saw no output
	// within its OperationTimeout (ERROR_WSMAN_OPERATION_TIMEDOUT, 0x80338029).
	codeOperationTimeout = "2150858793"
	// codeShellNotFound is returned for an unknown ShellId (0x80338043... as Windows reports it).
	codeShellNotFound = "2150858843"
)

// request is the part of a WS-Man request envelope the shell operations use.
type request struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		Action           string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		MessageID        string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
		ResourceURI      string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd ResourceURI"`
		OperationTimeout string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OperationTimeout"`
		MaxEnvelopeSize  string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd MaxEnvelopeSize"`
		SelectorSet      struct {
			Selectors []nameValue `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd Selector"`
		} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd SelectorSet"`
		OptionSet struct {
			Options []nameValue `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd Option"`
		} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OptionSet"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Shell *struct {
			WorkingDirectory string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell WorkingDirectory"`
			Environment      struct {
				Variables []nameValue `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Variable"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Environment"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell"`
		CommandLine *struct {
			Command   string   `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Command"`
			Arguments []string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Arguments"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandLine"`
		Receive *struct {
			DesiredStream struct {
				CommandID string `xml:"CommandId,attr"`
				Streams   string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell DesiredStream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Receive"`
		Send *struct {
			Streams []struct {
				Name      string `xml:"Name,attr"`
				CommandID string `xml:"CommandId,attr"`
				End       string `xml:"End,attr"`
				Data      string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Stream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Send"`
		Signal *struct {
			CommandID string `xml:"CommandId,attr"`
			Code      string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Code"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Signal"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

type nameValue struct {
	Name  string `xml:"Name,attr"`
	Value string `xml:",chardata"`
}

func parseRequest(body []byte) (*request, error) {
	var r request
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("not a SOAP 1.2 envelope: %w", err)
	}
	r.Header.Action = strings.TrimSpace(r.Header.Action)
	if r.Header.Action == "" {
		return nil, errors.New("no wsa:Action header")
	}
	return &r, nil
}

func (r *request) selector(name string) string {
	for _, s := range r.Header.SelectorSet.Selectors {
		if s.Name == name {
			return strings.TrimSpace(s.Value)
		}
	}
	return ""
}

// maxEnvelope is the client's MaxEnvelopeSize, or the WinRM default 153600.
func (r *request) maxEnvelope() int {
	n, err := strconv.Atoi(strings.TrimSpace(r.Header.MaxEnvelopeSize))
	if err != nil || n < 8192 {
		return 153600
	}
	return n
}

// parseDuration reads the xs:duration subset WS-Man uses for OperationTimeout,
// such as "PT60S", "PT60.000S", "PT1M30S", "P0DT0H0M5S". Years and months are refused.
func parseDuration(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "P")
	if !ok || rest == "" {
		return 0, fmt.Errorf("duration %q: want PnDTnHnMn.nS", s)
	}
	var d time.Duration
	inTime := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, fmt.Errorf("duration %q: second T", s)
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("duration %q: want a number and a unit", s)
		}
		v, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil || v > 1e6 {
			return 0, fmt.Errorf("duration %q: bad number %q", s, rest[:i])
		}
		var unit time.Duration
		switch u := rest[i]; {
		case u == 'D' && !inTime:
			unit = 24 * time.Hour
		case u == 'H' && inTime:
			unit = time.Hour
		case u == 'M' && inTime:
			unit = time.Minute
		case u == 'S' && inTime:
			unit = time.Second
		default:
			return 0, fmt.Errorf("duration %q: unit %q not allowed here", s, u)
		}
		d += time.Duration(v * float64(unit))
		rest = rest[i+1:]
	}
	return d, nil
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// envelope wraps a reply body with the addressing headers a client correlates on:
// a:RelatesTo carries the request's MessageID (pywinrm checks it on Signal and Delete).
func envelope(action, relatesTo, messageID, body string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<s:Envelope xml:lang="en-US" xmlns:s="` + nsSoap + `" xmlns:a="` + nsAddr + `" xmlns:x="` + nsXfer +
		`" xmlns:w="` + nsWsman + `" xmlns:rsp="` + nsShell + `" xmlns:p="` + nsMsWsm + `">`)
	b.WriteString(`<s:Header><a:Action>` + esc(action) + `</a:Action><a:MessageID>` + esc(messageID) + `</a:MessageID>`)
	b.WriteString(`<a:To>` + anonAddr + `</a:To>`)
	if relatesTo != "" {
		b.WriteString(`<a:RelatesTo>` + esc(relatesTo) + `</a:RelatesTo>`)
	}
	b.WriteString(`</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
	return []byte(b.String())
}

func createBody(addr, shellID, owner string, inStreams, outStreams string) string {
	return `<x:ResourceCreated><a:Address>` + esc(addr) + `</a:Address><a:ReferenceParameters>` +
		`<w:ResourceURI>` + resourceCmd + `</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">` + esc(shellID) +
		`</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>` +
		`<rsp:Shell><rsp:ShellId>` + esc(shellID) + `</rsp:ShellId><rsp:ResourceUri>` + resourceCmd + `</rsp:ResourceUri>` +
		`<rsp:Owner>` + esc(owner) + `</rsp:Owner><rsp:InputStreams>` + esc(inStreams) + `</rsp:InputStreams>` +
		`<rsp:OutputStreams>` + esc(outStreams) + `</rsp:OutputStreams></rsp:Shell>`
}

func commandBody(commandID string) string {
	return `<rsp:CommandResponse><rsp:CommandId>` + esc(commandID) + `</rsp:CommandId></rsp:CommandResponse>`
}

// chunk is output taken from a command for one Receive reply.
type chunk struct {
	stdout, stderr []byte
	done           bool
	exitCode       int
}

func receiveBody(commandID string, c chunk) string {
	var b strings.Builder
	b.WriteString(`<rsp:ReceiveResponse>`)
	id := esc(commandID)
	for _, s := range []struct {
		name string
		data []byte
	}{{"stdout", c.stdout}, {"stderr", c.stderr}} {
		if len(s.data) > 0 {
			b.WriteString(`<rsp:Stream Name="` + s.name + `" CommandId="` + id + `">` + b64(s.data) + `</rsp:Stream>`)
		}
		if c.done {
			b.WriteString(`<rsp:Stream Name="` + s.name + `" CommandId="` + id + `" End="true"></rsp:Stream>`)
		}
	}
	if c.done {
		b.WriteString(`<rsp:CommandState CommandId="` + id + `" State="` + stateDone + `"><rsp:ExitCode>` +
			strconv.Itoa(c.exitCode) + `</rsp:ExitCode></rsp:CommandState>`)
	} else {
		b.WriteString(`<rsp:CommandState CommandId="` + id + `" State="` + stateRunning + `"></rsp:CommandState>`)
	}
	b.WriteString(`</rsp:ReceiveResponse>`)
	return b.String()
}

func sendBody() string   { return `<rsp:SendResponse></rsp:SendResponse>` }
func signalBody() string { return `<rsp:SignalResponse></rsp:SignalResponse>` }

// fault is a WS-Man fault reply (HTTP 500, MS-WSMV 2.2.4.16 and WS-Management's
// fault shape): SOAP code and subcode, reason text, and the WSManFault code Windows puts in Detail.
type fault struct {
	code, subcode, reason, wsmanCode string
}

func (f fault) body() string {
	return `<s:Fault><s:Code><s:Value>` + esc(f.code) + `</s:Value><s:Subcode><s:Value>` + esc(f.subcode) +
		`</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">` + esc(f.reason) + `</s:Text></s:Reason>` +
		`<s:Detail><f:WSManFault xmlns:f="` + nsFault + `" Code="` + esc(f.wsmanCode) + `" Machine="winrmtest">` +
		`<f:Message>` + esc(f.reason) + `</f:Message></f:WSManFault></s:Detail></s:Fault>`
}

var (
	faultOperationTimeout = fault{"s:Receiver", "w:TimedOut",
		"The WS-Management service cannot complete the operation within the time specified in OperationTimeout.", codeOperationTimeout}
)

func faultInvalid(reason string) fault {
	return fault{"s:Sender", "w:InvalidParameter", reason, "2150858882"}
}

func faultNoShell(shellID string) fault {
	return fault{"s:Sender", "w:InvalidSelectors",
		"The request for the Windows Remote Shell with ShellId " + shellID + " failed because the shell was not found on the server.", codeShellNotFound}
}

func faultNoCommand(commandID string) fault {
	return fault{"s:Sender", "w:InvalidParameter",
		"The command with CommandId " + commandID + " was not found in this shell.", "2150858882"}
}

func faultAction(action string) fault {
	return fault{"s:Sender", "a:ActionNotSupported", "The action " + action + " is not supported by this test server.", "2150858781"}
}
