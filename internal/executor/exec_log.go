package executor

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"github.com/arcfleet/arcfleet/internal/results"
)

// Output of one attempt is streamed to its log file as it arrives (masked,
// line by line) and only a bounded tail is kept in memory for the classifier,
// so a chatty or hung agent cannot grow the controller's memory.
const (
	tailKeep    = 256 << 10 // bytes of each stream kept for classification
	maxLineHold = 64 << 10  // a longer line without newline is written in pieces (never splitting a secret)
)

// attemptLog is hosts/NAME/attempt-N-STEP.log (exec_host.go openLog): each line prefixed by its stream.
type attemptLog struct {
	mu     sync.Mutex
	f      *os.File
	masker *results.Masker
	err    error
}

func (l *attemptLog) writeLine(prefix string, line []byte) {
	if l == nil {
		return
	}
	s := l.masker.Mask(string(bytes.TrimSuffix(line, []byte("\r"))))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	if _, err := fmt.Fprintf(l.f, "%s%s\n", prefix, s); err != nil {
		l.err = err
	}
}

func (l *attemptLog) close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.f.Close()
	if l.err != nil {
		return l.err
	}
	return err
}

// streamWriter is the io.Writer handed to the transport for one stream.
// It never fails: a log that cannot be written must not break the remote command.
type streamWriter struct {
	log     *attemptLog
	prefix  string
	partial []byte
	tail    []byte
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.tail = append(w.tail, p...)
	if len(w.tail) > 2*tailKeep {
		w.tail = append([]byte(nil), w.tail[len(w.tail)-tailKeep:]...)
	}
	if w.log == nil {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.log.writeLine(w.prefix, w.partial[:i])
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxLineHold {
		// Write the piece up to a cut no secret spans; keep the rest (at least
		// a secret's length) to be masked with what follows.
		cut := w.log.masker.Cut(string(w.partial))
		if cut == 0 { // a secret over 64 KiB long: write it whole rather than hold the line forever
			cut = len(w.partial)
		}
		w.log.writeLine(w.prefix, w.partial[:cut])
		w.partial = w.partial[cut:]
	}
	if cap(w.partial) > 4*maxLineHold { // do not keep a big backing array alive
		w.partial = append([]byte(nil), w.partial...)
	}
	return len(p), nil
}

// flush writes a last line that had no newline.
func (w *streamWriter) flush() {
	if len(w.partial) > 0 {
		w.log.writeLine(w.prefix, w.partial)
		w.partial = nil
	}
}

// text is the kept tail of the stream.
func (w *streamWriter) text() string {
	if len(w.tail) > tailKeep {
		return string(w.tail[len(w.tail)-tailKeep:])
	}
	return string(w.tail)
}
