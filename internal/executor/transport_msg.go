package executor

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/arcfleet/arcfleet/internal/agent"
	"github.com/arcfleet/arcfleet/internal/inventory"
	"github.com/arcfleet/arcfleet/internal/results"
	"github.com/arcfleet/arcfleet/internal/transport"
)

// transportMsg is err as a message for the report: a *transport.Error says
// its operation, kind and hint (and its own words for the error, a
// transport.Phrase) by key, so a Swedish report says them in Swedish; what a
// host or a library said stays as it is (run data). The message's English is
// err's text word for word; where a part has no template that says it, that
// part (or, failing that, the whole) is the English text.
func transportMsg(err error) results.Msg {
	if err == nil {
		return results.M(results.MsgText, "")
	}
	te, ok := err.(*transport.Error)
	if !ok {
		return errTextMsg(err)
	}
	parts := []results.Msg{opMsg(te.Op), kindMsg(te.Kind)}
	key := "terr"
	if te.Err != nil {
		key += "_err"
		parts = append(parts, errTextMsg(te.Err))
	}
	if te.Hint != "" {
		key += "_hint"
		parts = append(parts, said2(results.M("tr_"+te.HintKey, te.HintArgs...), te.Hint))
	}
	return said2(results.M(key, te.Host).With(parts...), err.Error())
}

// errTextMsg is the error inside a transport error: a nested transport error
// (a jump host's), the transport's own words (Phrase), or the text as it is.
func errTextMsg(err error) results.Msg {
	switch e := err.(type) {
	case *transport.Error:
		return transportMsg(e)
	case *transport.Phrase:
		return said2(results.M("tr_"+e.Key, e.Args...), e.Error())
	}
	// A library's wrapping of the transport's words (net/http's `Post "URL": `
	// around a TLS check's phrase): the prefix as it is, the phrase by key.
	var p *transport.Phrase
	if errors.As(err, &p) {
		if prefix, ok := strings.CutSuffix(err.Error(), p.Error()); ok && prefix != "" {
			return said2(results.M("tr_wrapped", prefix).With(errTextMsg(p)), err.Error())
		}
	}
	return results.M(results.MsgText, err.Error())
}

// opMsg is a transport operation ("dial", "dial via jump host J", ...).
func opMsg(op string) results.Msg {
	if j, ok := strings.CutPrefix(op, "dial via jump host "); ok {
		return said2(results.M("op_dial_via", j), op)
	}
	return said2(results.M("op_"+strings.ReplaceAll(op, " ", "_")), op)
}

// kindMsg is a transport.Kind.
func kindMsg(k transport.Kind) results.Msg {
	return said2(results.M("kind_"+strings.ReplaceAll(string(k), "-", "_")), string(k))
}

// said2 is m when its English is text, else text as it is.
func said2(m results.Msg, text string) results.Msg {
	if m.Text("en") == text {
		return m
	}
	return results.M(results.MsgText, text)
}

// errMsgOf is o's errMsg as a message: errM when it says it, else the text.
func (o stepOut) errMsgOf() results.Msg {
	return said2(o.errM, o.errMsg)
}

// msgError is an error in the executor's own words: its text is the
// message's English, and the report says the message in its language. err,
// when set, is the error it is about (Unwrap).
type msgError struct {
	m   results.Msg
	err error
}

func (e *msgError) Error() string { return e.m.Text("en") }
func (e *msgError) Unwrap() error { return e.err }

// errorf is an error that says m.
func errorf(m results.Msg) error { return &msgError{m: m} }

// errMsg is err as a message for the report (English: err's text): the
// executor's own errors (msgError, secretError) and transport errors by key,
// any other as its text.
func errMsg(err error) results.Msg {
	switch e := err.(type) {
	case *msgError:
		return e.m
	case *secretError:
		return said2(e.msg, e.Error())
	case *transport.Error:
		return transportMsg(e)
	case interface{ Msg() results.Msg }: // agent.MsgError, azure.Error
		return said2(e.Msg(), err.Error())
	}
	return results.M(results.MsgText, err.Error())
}

// maskedErrMsg is errMsg(err) with mask applied, when it says mask(err's
// text) word for word; else that text.
func maskedErrMsg(err error, mask func(string) string) results.Msg {
	return said2(errMsg(err).Mask(mask), mask(err.Error()))
}

// resolveMsg is why a secret reference does not resolve, as a message.
func resolveMsg(err error) results.Msg {
	var re *inventory.ResolveError
	if !errors.As(err, &re) || error(re) != err {
		return results.M(results.MsgText, err.Error())
	}
	args := re.Args
	if re.Err != nil {
		args = append(append([]string(nil), args...), re.Err.Error())
	}
	return said2(results.M("secret_"+re.Reason, args...), err.Error())
}

// ownerMsg is agent.DescribeOwner(rec) as a message: "run R (STEP, since T)".
func ownerMsg(rec string) results.Msg {
	en := agent.DescribeOwner(rec)
	if rec == "an unknown operation" { // agent.Busy's word for an empty record
		return said2(results.M("owner_unknown"), en)
	}
	f := map[string]string{}
	for kv := range strings.FieldsSeq(rec) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			f[k] = v
		}
	}
	if f["run"] == "" {
		return results.M(results.MsgText, en)
	}
	m := results.M("owner_run", f["run"], f["step"])
	if t, err := strconv.ParseInt(f["since"], 10, 64); err == nil && t > 0 {
		m = results.M("owner_run_since", f["run"], f["step"], time.Unix(t, 0).UTC().Format(time.RFC3339))
	}
	return said2(m, en)
}
